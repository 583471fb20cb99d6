import { useEffect, useRef, type ReactNode } from 'react';
import { ApiKeyField } from './ApiKeyField';
import { Link } from './Link';

export interface NavItem {
  path: string;
  label: string;
  group: 'main' | 'examples';
}

/** Header, navigation and the main landmark. */
export function Layout({ nav, current, children }: { nav: readonly NavItem[]; current: string; children: ReactNode }) {
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
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
        <ApiKeyField />
      </header>
      <nav className="side" aria-label="Pages">
        <ul>{nav.filter((n) => n.group === 'main').map(item)}</ul>
        <h2 className="nav-h">Examples</h2>
        <ul>{nav.filter((n) => n.group === 'examples').map(item)}</ul>
      </nav>
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
    </div>
  );
}
