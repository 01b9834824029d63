// CodeMirror's themes under weft's Content-Security-Policy. The server sends `style-src 'self'`,
// which blocks inline <style> elements — and style-mod, through which CodeMirror adds its
// styles, writes a <style> element into a document (it uses constructable stylesheets only in
// shadow roots). Mounting into the document is routed here instead: the same rules, in the same
// order, in one constructable stylesheet adopted by the document, which the policy allows (a
// stylesheet built by the app's own script, not markup).

import { StyleModule } from 'style-mod';

let sheet: CSSStyleSheet | null = null;
const order: StyleModule[] = [];

/** Merge `modules` into the mounted order: later modules in a call take precedence, as in style-mod. */
function merge(modules: readonly StyleModule[]): boolean {
  let changed = false;
  let pos = 0;
  for (const mod of modules) {
    const at = order.indexOf(mod);
    if (at === -1) {
      order.splice(pos++, 0, mod);
      changed = true;
    } else if (at < pos) {
      order.splice(at, 1);
      order.splice(pos - 1, 0, mod);
      changed = true;
    } else {
      pos = at + 1;
    }
  }
  return changed;
}

function mountInDocument(modules: readonly StyleModule[]): void {
  sheet ??= new CSSStyleSheet();
  if (merge(modules)) sheet.replaceSync(order.map((m) => m.getRules()).join('\n'));
  if (!document.adoptedStyleSheets.includes(sheet)) document.adoptedStyleSheets = [sheet, ...document.adoptedStyleSheets];
}

let installed = false;

/** Route style-mod's mounting into the document through a constructable stylesheet (once). */
export function installCspStyles(): void {
  if (installed || typeof document === 'undefined' || !('adoptedStyleSheets' in document) || typeof CSSStyleSheet === 'undefined') return;
  installed = true;
  const original = StyleModule.mount.bind(StyleModule);
  StyleModule.mount = (root, modules, options) => {
    if (root === document) mountInDocument(Array.isArray(modules) ? modules : [modules as StyleModule]);
    else original(root, modules, options);
  };
}
