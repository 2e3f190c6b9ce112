/**
 * The page's tabs, after the WAI-ARIA Authoring Practices "Tabs" pattern (automatic
 * activation). Generic over every [role=tab] in the [role=tablist]: a tab is a button with an
 * id `tab-<name>` and aria-controls naming its [role=tabpanel]; adding one to index.html is
 * all a new view needs.
 *
 * Keyboard: Left/Right move to the previous/next tab (wrapping), Home/End to the first/last,
 * Enter/Space select the focused tab; only the selected tab is in the Tab order (roving
 * tabindex). The choice is kept in the address (`#settings`; the first tab has none), and a
 * panel that becomes visible receives a `tabshow` event (a chart can size itself then).
 */

/** The event a panel receives each time its tab is selected. */
export const TAB_SHOW_EVENT = 'tabshow';

function tabsOf(tablist: HTMLElement): HTMLElement[] {
  return Array.from(tablist.querySelectorAll<HTMLElement>('[role="tab"]'));
}

function panelOf(tab: HTMLElement): HTMLElement | null {
  const id = tab.getAttribute('aria-controls');
  return id === null ? null : document.getElementById(id);
}

/** The name a tab is addressed by: its id without the `tab-` prefix. */
function nameOf(tab: HTMLElement): string {
  return tab.id.replace(/^tab-/, '');
}

/** Wires the tablist; selects the tab named in the address, else the first. */
export function setUpTabs(tablist: HTMLElement): void {
  function select(tab: HTMLElement, focus = false): void {
    const tabs = tabsOf(tablist);
    for (const t of tabs) {
      const selected = t === tab;
      const wasSelected = t.getAttribute('aria-selected') === 'true';
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      const panel = panelOf(t);
      if (panel === null) continue;
      panel.hidden = !selected;
      if (selected && (!wasSelected || !panel.dataset.shown)) {
        panel.dataset.shown = 'true';
        panel.dispatchEvent(new CustomEvent(TAB_SHOW_EVENT));
      }
    }
    if (focus) tab.focus();
    const hash = tab === tabs[0] ? '' : `#${nameOf(tab)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash === '' ? location.pathname + location.search : hash);
  }

  function fromAddress(): void {
    const tabs = tabsOf(tablist);
    const wanted = location.hash.slice(1);
    const tab = tabs.find((t) => nameOf(t) === wanted) ?? tabs[0];
    if (tab !== undefined) select(tab);
  }

  for (const tab of tabsOf(tablist)) {
    const panel = panelOf(tab);
    if (panel === null) continue;
    if (!panel.hasAttribute('aria-labelledby') && tab.id !== '') panel.setAttribute('aria-labelledby', tab.id);
    // A panel that starts with text is a Tab stop itself, so the keyboard reaches it; one that
    // starts with a control is not (WAI-ARIA APG tabs: Tab goes straight to that control).
    if (!startsWithControl(panel)) panel.tabIndex = 0;
  }

  tablist.addEventListener('click', (event) => {
    const tab = (event.target as Element | null)?.closest<HTMLElement>('[role="tab"]');
    if (tab && tablist.contains(tab)) select(tab);
  });

  tablist.addEventListener('keydown', (event) => {
    const tab = (event.target as Element | null)?.closest<HTMLElement>('[role="tab"]');
    if (!tab || event.altKey || event.ctrlKey || event.metaKey) return;
    const tabs = tabsOf(tablist);
    const i = tabs.indexOf(tab);
    let next: HTMLElement | undefined;
    switch (event.key) {
      case 'ArrowRight': next = tabs[(i + 1) % tabs.length]; break;
      case 'ArrowLeft': next = tabs[(i - 1 + tabs.length) % tabs.length]; break;
      case 'Home': next = tabs[0]; break;
      case 'End': next = tabs[tabs.length - 1]; break;
      case 'Enter': case ' ': next = tab; break;
      default: return;
    }
    event.preventDefault();
    if (next !== undefined) select(next, true);
  });

  window.addEventListener('hashchange', fromAddress);
  fromAddress();
}

/** True when the panel's first child holds a control the keyboard can reach. */
function startsWithControl(panel: HTMLElement): boolean {
  const first = panel.firstElementChild;
  return first !== null && first.querySelector('button, input, select, textarea, a[href], [tabindex="0"]') !== null;
}
