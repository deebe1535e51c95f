// grid.js: the tile grid of the call screen.
//
// One job: hold the tiles and size them. For n tiles in the stage it picks the
// column count that gives the largest 16:9 tile that still fits without
// scrolling (what CSS grid alone cannot do: auto-fit knows widths, not the
// height left over), and re-lays out whenever the stage changes size. Below a
// minimum tile width it lets the stage scroll instead of shrinking further.

const GAP = 12; // px between tiles; matches --gap in style.css
const MIN_TILE_W = 180; // below this names and badges stop being readable

export class Grid {
  /**
   * @param {HTMLElement} stage  the scrollable area the grid must fit in
   * @param {HTMLElement} gridEl the flex container the tiles go into
   */
  constructor(stage, gridEl) {
    this.stage = stage;
    this.gridEl = gridEl;
    this.tiles = new Map(); // id -> Tile, in insertion order
    this.observer = new ResizeObserver(() => this.layout());
    this.observer.observe(stage);
  }

  /** Adds a tile; the local tile goes first so "You" is always in one place. */
  add(tile) {
    this.tiles.set(tile.id, tile);
    if (tile.local) this.gridEl.prepend(tile.el);
    else this.gridEl.append(tile.el);
    this.layout();
    return tile;
  }

  get(id) {
    return this.tiles.get(id);
  }

  remove(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.destroy();
    this.tiles.delete(id);
    this.layout();
  }

  /** Removes every tile (leaving the room). */
  clear() {
    for (const tile of this.tiles.values()) tile.destroy();
    this.tiles.clear();
    this.layout();
  }

  /** The tiles of other participants. */
  remote() {
    return [...this.tiles.values()].filter((t) => !t.local);
  }

  layout() {
    const n = this.tiles.size;
    const style = getComputedStyle(this.stage);
    const w = this.stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const h = this.stage.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (n === 0 || w <= 0 || h <= 0) return;

    let best = { cols: 1, tileW: 0 };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const byWidth = (w - GAP * (cols - 1)) / cols;
      const byHeight = ((h - GAP * (rows - 1)) / rows) * (16 / 9);
      const tileW = Math.min(byWidth, byHeight);
      if (tileW > best.tileW) best = { cols, tileW };
    }
    let { cols, tileW } = best;
    if (tileW < MIN_TILE_W) {
      // Too many tiles to fit: keep them readable and let the stage scroll.
      cols = Math.max(1, Math.floor((w + GAP) / (MIN_TILE_W + GAP)));
      tileW = Math.min(w, (w - GAP * (cols - 1)) / cols);
    }
    tileW = Math.floor(tileW);
    this.gridEl.style.setProperty('--tile-w', `${tileW}px`);
    // Capping the width makes the flex container wrap after `cols` tiles,
    // and centres an incomplete last row.
    this.gridEl.style.maxWidth = `${cols * tileW + (cols - 1) * GAP}px`;
    this.gridEl.dataset.count = String(n);
  }

  destroy() {
    this.observer.disconnect();
    this.clear();
  }
}
