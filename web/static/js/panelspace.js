// panelspace.js: room on the call screen for the header and the panels beside the stage.
//
// One job: keep two facts where the style sheets can use them. The header's height goes to
// --call-header-h (on a phone the header takes two rows, its tools with their labels under the room
// name), so panels open below it, whatever it holds. Whether a panel is open goes to the class
// call-screen--panel-open, so that on a wide screen the stage makes room beside the panel instead of
// the panel covering tiles (the grid re-lays out on the stage's new size). Panels are the page's
// .stats-panel, .side-panel and .device-panel elements (the invite panel lives outside the call screen,
// to show on the pre-join page too), shown and hidden by their own modules through the hidden
// attribute; this module only watches them.

const PANELS = '.stats-panel, .side-panel, .device-panel';

/** Watches the call screen's header and panels for as long as the page lives. */
export function watchPanelSpace(screen) {
  const header = screen.querySelector('.call-header');
  // On the root, so that panels outside the call screen inherit it; 0 while the call screen is hidden.
  const setHeight = () => document.documentElement.style.setProperty('--call-header-h', `${Math.ceil(header.getBoundingClientRect().height)}px`);
  new ResizeObserver(setHeight).observe(header);
  const setOpen = () => {
    const open = [...document.querySelectorAll(PANELS)].some((panel) => !panel.hidden);
    screen.classList.toggle('call-screen--panel-open', open);
  };
  new MutationObserver(setOpen).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
  setHeight();
  setOpen();
}
