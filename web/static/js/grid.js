// grid.js: the tile grid of the call screen.
//
// One job: hold the tiles, order them and size them. For n tiles in the stage
// it picks the column count that gives the largest 16:9 tile that still fits
// without scrolling (what CSS grid alone cannot do: auto-fit knows widths, not
// the height left over), and re-lays out whenever the stage changes size.
// Below a minimum tile width it lets the stage scroll instead of shrinking
// further. One tile may be featured (pinned, a screen share, or the speaker
// in speaker view): it goes first and large, and the others become one row of
// thumbnails under it. More tiles than a page holds (nine, six on a phone;
// one row of thumbnails beside a featured tile) are split into pages
// (pages.js); tiles off the current page are hidden (class tile--offpage).

import { paginate } from './pages.js';

const GAP = 12; // px between tiles; matches --gap in style.css
const PAGE_SIZE = 9;
const NARROW_PAGE_SIZE = 6; // phones: six tiles still show faces
const NARROW_W = 520; // px of stage width below which a page holds NARROW_PAGE_SIZE
const NARROW_MIN_THUMB_W = 96; // thumbnails under a featured tile on a phone
const MIN_TILE_W = 180; // below this names and badges stop being readable
const THUMB_SHARE = 0.22; // of the stage's height, for the thumbnail row under a featured tile
const MAX_THUMB_W = 320;

export class Grid {
  /**
   * @param {HTMLElement} stage  the scrollable area the grid must fit in
   * @param {HTMLElement} gridEl the flex container the tiles go into
   */
  constructor(stage, gridEl) {
    this.stage = stage;
    this.gridEl = gridEl;
    this.tiles = new Map(); // id -> Tile, in insertion order
    this.featured = null; // id of the large tile, or null
    this.page = 0; // current page, 0-based
    this.pages = 1;
    this.pageSizeOverride = 0; // tests: tiles per grid page (0: by width)
    this.onPages = null; // called with (page, pages) after every layout
    this.observer = new ResizeObserver(() => this.layout());
    this.observer.observe(stage);
  }

  /**
   * Adds a tile; the local tile goes first (after a featured one) so "You"
   * is always in one place, and our own screen share right after it.
   */
  add(tile) {
    this.tiles.set(tile.id, tile);
    const own = [...this.tiles.values()].find((t) => t.local && !t.screen && t !== tile);
    if (tile.local && !tile.screen) this.#placeBack(tile);
    else if (tile.local && own) own.el.after(tile.el);
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
    if (this.featured === id) this.setFeatured(null);
    else this.layout();
  }

  /** Removes every tile (leaving the room). */
  clear() {
    for (const tile of this.tiles.values()) tile.destroy();
    this.tiles.clear();
    this.featured = null;
    this.layout();
  }

  /** Makes tile id the large one (null: none, every tile the same size). */
  setFeatured(id) {
    if (id !== null && !this.tiles.has(id)) id = null;
    // Grid pages and strip pages hold different tiles: start over when switching.
    if (!id !== !this.featured) this.page = 0;
    const prev = this.featured ? this.tiles.get(this.featured) : null;
    if (prev) prev.el.classList.remove('tile--featured');
    this.featured = id;
    const tile = id ? this.tiles.get(id) : null;
    if (tile) {
      tile.el.classList.add('tile--featured');
      // First in the DOM too, so keyboard and screen-reader order follows what is seen.
      this.gridEl.prepend(tile.el);
    }
    if (prev && prev !== tile) this.#placeBack(prev);
    this.layout();
  }

  /**
   * Moves tile id to the front of the other participants' tiles when it is
   * out of sight (the stage scrolls, or it is on another page): the person
   * speaking should be seen. Tiles in view stay put, so the grid does not
   * reshuffle every time someone else talks.
   */
  bringForward(id) {
    const tile = this.tiles.get(id);
    if (!tile || tile.local || id === this.featured || this.#inView(tile.el)) return;
    const first = [...this.gridEl.children].find((el) => el !== tile.el && !this.#isPinnedFirst(el));
    if (!first || first === tile.el) return;
    this.gridEl.insertBefore(tile.el, first);
    // The tile may come from another page: show the first page, where it now is.
    if (tile.el.classList.contains('tile--offpage')) this.page = 0;
    this.layout();
  }

  /** Turns to another page (delta -1 or +1); the next layout clamps it. */
  turnPage(delta) {
    this.page = Math.max(0, this.page + delta);
    this.layout();
  }

  /** Ids of the tiles on the current page, in order (for tests). */
  visibleIds() {
    return [...this.gridEl.children].filter((el) => !el.classList.contains('tile--offpage')).map((el) => el.dataset.tileId);
  }

  /** The tiles of other participants. */
  remote() {
    return [...this.tiles.values()].filter((t) => !t.local);
  }

  /**
   * The height the stage gives to what it shows above or below the grid in its column (e.g. the
   * alone card), so the tiles are sized to leave it room.
   */
  #besideHeight(style) {
    if (style.flexDirection !== 'column') return 0;
    const gap = parseFloat(style.rowGap) || 0;
    let sum = 0;
    for (const el of this.stage.children) {
      if (el === this.gridEl || el.hidden) continue;
      const pos = getComputedStyle(el).position;
      if (pos !== 'absolute' && pos !== 'fixed') sum += el.offsetHeight + gap;
    }
    return sum;
  }

  layout() {
    const style = getComputedStyle(this.stage);
    const w = this.stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const h = this.stage.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) - this.#besideHeight(style);
    if (this.tiles.size === 0 || w <= 0 || h <= 0) {
      this.#showPages(0, 1);
      return;
    }
    // Tiles in their on-screen order (featured first, ours next, ...).
    const order = [...this.gridEl.children].map((el) => this.tiles.get(el.dataset.tileId)).filter(Boolean);
    this.gridEl.dataset.count = String(order.length);
    const featured = this.featured ? this.tiles.get(this.featured) : null;
    if (featured && order.length > 1) {
      const others = order.filter((t) => t !== featured);
      const { visible, page, pages } = paginate(others, this.#stripCapacity(w, h), this.page);
      if (this.#layoutFeatured(visible.length + 1, w, h)) {
        this.#applyPage(new Set([featured, ...visible]), page, pages);
        return;
      }
    }
    this.gridEl.classList.remove('grid--featured');
    const perPage = this.pageSizeOverride || (w < NARROW_W ? NARROW_PAGE_SIZE : PAGE_SIZE);
    const { visible, page, pages } = paginate(order, perPage, this.page);
    this.#applyPage(new Set(visible), page, pages);
    const n = visible.length;

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
  }

  /** Hides the tiles not in visible and tells the pager where we are. */
  #applyPage(visible, page, pages) {
    for (const t of this.tiles.values()) t.el.classList.toggle('tile--offpage', !visible.has(t));
    this.#showPages(page, pages);
  }

  #showPages(page, pages) {
    this.page = page;
    this.pages = pages;
    if (this.onPages) this.onPages(page, pages);
  }

  /**
   * The width of a thumbnail under a featured tile. On a phone three fit
   * across (smaller than MIN_TILE_W: a face still shows, and the speaker
   * stays large).
   */
  #thumbWidth(w, h) {
    const byHeight = h * THUMB_SHARE * (16 / 9);
    if (w < NARROW_W) return Math.floor(Math.max(NARROW_MIN_THUMB_W, Math.min(byHeight, (w - 2 * GAP) / 3)));
    return Math.min(MAX_THUMB_W, w, Math.max(MIN_TILE_W, byHeight));
  }

  /** How many thumbnails fit in the one row under a featured tile (a page of them). */
  #stripCapacity(w, h) {
    return Math.max(1, Math.floor((w + GAP) / (this.#thumbWidth(w, h) + GAP)));
  }

  /**
   * The featured tile as large as fits above one row of n-1 thumbnails.
   * Returns false when the stage is too small for a featured tile to be any
   * larger than a thumbnail.
   */
  #layoutFeatured(n, w, h) {
    const m = n - 1;
    let thumbW = this.#thumbWidth(w, h);
    const cols = Math.max(1, Math.min(m, Math.floor((w + GAP) / (thumbW + GAP))));
    // Fewer thumbnails than fit: keep their size; more: share the width.
    if (m > cols) thumbW = Math.min(thumbW, (w - GAP * (cols - 1)) / cols);
    thumbW = Math.floor(thumbW);
    const thumbH = thumbW * (9 / 16);
    const featuredW = Math.floor(Math.min(w, (h - thumbH - GAP) * (16 / 9)));
    if (featuredW < thumbW * 1.5) return false;
    const rowW = cols * thumbW + (cols - 1) * GAP;
    this.gridEl.classList.add('grid--featured');
    this.gridEl.style.setProperty('--tile-w', `${thumbW}px`);
    this.gridEl.style.setProperty('--featured-w', `${featuredW}px`);
    this.gridEl.style.maxWidth = `${Math.max(featuredW, rowW)}px`;
    return true;
  }

  /** Puts a tile that stops being featured back where it belongs: ours first, others after. */
  #placeBack(tile) {
    if (tile.local && !tile.screen) {
      const after = this.featured ? this.tiles.get(this.featured)?.el : null;
      if (after) after.after(tile.el);
      else this.gridEl.prepend(tile.el);
    } else {
      this.gridEl.append(tile.el);
    }
  }

  /** The featured tile and our own tile keep the first places. */
  #isPinnedFirst(el) {
    const id = el.dataset.tileId;
    const t = this.tiles.get(id);
    return id === this.featured || (!!t && t.local && !t.screen);
  }

  #inView(el) {
    const r = el.getBoundingClientRect();
    const s = this.stage.getBoundingClientRect();
    return r.top >= s.top - 1 && r.bottom <= s.bottom + 1 && r.left >= s.left - 1 && r.right <= s.right + 1;
  }

  destroy() {
    this.observer.disconnect();
    this.clear();
  }
}
