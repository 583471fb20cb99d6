import type { ReactNode } from 'react';

export function Tile({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="tile">
      <span>{label}</span>
      <strong data-testid={testId}>{children}</strong>
    </div>
  );
}
