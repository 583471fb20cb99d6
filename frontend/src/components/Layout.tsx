import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiKeyField } from './ApiKeyField';
import { Link } from './Link';

export type NavGroup = 'operate' | 'main' | 'examples';

export interface NavItem {
  path: string;
  label: string;
  group: NavGroup;
  /** Reachable by URL but not listed (old addresses). */
  hidden?: boolean;
}

const GROUPS: readonly { group: NavGroup; title: string }[] = [
  { group: 'operate', title: 'Operator console' },
  { group: 'main', title: 'Try it' },
  { group: 'examples', title: 'Examples' },
];

/**
 * Header, navigation and the main landmark. On a narrow screen the navigation folds into
 * a menu button, so every page stays reachable without scrolling sideways.
 */
export function Layout({ nav, current, children }: { nav: readonly NavItem[]; current: string; children: ReactNode }) {
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // The menu belongs to the page it was opened on: navigating closes it.
  const [menuOn, setMenuOn] = useState<string | null>(null);
  const menuOpen = menuOn === current;
  const title = nav.find((n) => n.path === current)?.label ?? 'Not found';
  useEffect(() => {
    document.title = `${title} · ssehub`;
    // After client-side navigation, move focus to the new content (as a page load would).
    if (first.current) first.current = false;
    else main.current?.focus({ preventScroll: true });
  }, [title, current]);
  const item = (n: NavItem) => (
    <li key={n.path}>
      <Link href={n.path} aria-current={n.path === current ? 'page' : undefined}>
        {n.label}
      </Link>
    </li>
  );
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand" aria-label="ssehub home">
          <span className="logo" aria-hidden="true" />
          ssehub
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="site-nav"
          onClick={() => setMenuOn(menuOpen ? null : current)}
          data-testid="menu-toggle"
        >
          {menuOpen ? 'Close menu' : `Menu: ${title}`}
        </button>
        <ApiKeyField />
      </header>
      <nav id="site-nav" className={menuOpen ? 'side open' : 'side'} aria-label="Pages" data-testid="site-nav">
        {GROUPS.map(({ group, title: heading }) => (
          <div key={group} className="nav-group">
            <h2 className="nav-h">{heading}</h2>
            <ul>{nav.filter((n) => n.group === group && n.hidden !== true).map(item)}</ul>
          </div>
        ))}
      </nav>
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
    </div>
  );
}
