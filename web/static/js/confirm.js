// confirm.js: "are you sure?" before an action nobody can undo.
//
// One job: ask for confirmation in a modal <dialog> (ending the call for
// everyone, removing someone): the browser's own dialog keeps focus inside,
// closes on Escape and gives focus back to what opened it. It resolves true
// only when the confirm button was pressed.

export class ConfirmDialog {
  /**
   * @param {{dialog: HTMLDialogElement, title: HTMLElement, text: HTMLElement,
   *          ok: HTMLButtonElement, cancel: HTMLButtonElement}} els
   */
  constructor({ dialog, title, text, ok, cancel }) {
    this.dialog = dialog;
    this.title = title;
    this.text = text;
    this.ok = ok;
    this.cancel = cancel;
    this.resolve = null;
    ok.addEventListener('click', () => this.dialog.close('ok'));
    cancel.addEventListener('click', () => this.dialog.close('cancel'));
    dialog.addEventListener('close', () => {
      const r = this.resolve;
      this.resolve = null;
      r?.(this.dialog.returnValue === 'ok');
    });
  }

  /** Asks; resolves true when confirmed. A second ask while one is open cancels the first. */
  ask({ title, text, confirmLabel }) {
    if (this.dialog.open) this.dialog.close('cancel');
    this.title.textContent = title;
    this.text.textContent = text || '';
    this.text.hidden = !text;
    this.ok.textContent = confirmLabel;
    this.dialog.returnValue = '';
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.dialog.showModal();
      // The safe choice has the focus: Enter by accident cancels.
      this.cancel.focus();
    });
  }

  /** Closes the dialog as cancelled (the call ended under it). */
  dismiss() {
    if (this.dialog.open) this.dialog.close('cancel');
  }

  /** For tests: {open, title}. */
  state() {
    return { open: this.dialog.open, title: this.dialog.open ? this.title.textContent : '' };
  }
}
