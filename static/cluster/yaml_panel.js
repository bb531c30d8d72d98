/**
 * The YAML panel's behaviour in the browser: a modal <dialog> (#yaml-dialog) whose content htmx
 * swaps into #yaml-panel. It opens when content arrives, puts the caret at the top of the
 * editor, and Ctrl+Enter (Cmd+Enter) presses Apply. Esc and the close button shut it natively.
 */
const dialog = document.getElementById("yaml-dialog");

if (dialog) {
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target?.id !== "yaml-panel") return;
    if (!dialog.open) dialog.showModal();
    const editor = dialog.querySelector("textarea");
    if (editor) {
      editor.focus();
      editor.setSelectionRange(0, 0);
      editor.scrollTop = 0;
    }
  });

  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const form = dialog.querySelector("form.yaml-form");
    const apply = form?.querySelector('[data-testid="yaml-apply"]');
    if (!apply) return;
    event.preventDefault();
    form.requestSubmit(apply);
  });
}
