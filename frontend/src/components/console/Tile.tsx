import type { ReactNode } from 'react';

/** A labelled figure; `text` for words rather than a number (smaller type). */
export function Tile({ label, children, testId, text = false }: { label: string; children: ReactNode; testId?: string; text?: boolean }) {
  return (
    <div className="tile">
      <span>{label}</span>
      <strong className={text ? 'tile-text' : undefined} data-testid={testId}>
        {children}
      </strong>
    </div>
  );
}
