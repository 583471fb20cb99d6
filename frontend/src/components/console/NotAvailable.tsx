import type { ReactNode } from 'react';

/** A console feature this hub does not have (it answered 404), said plainly instead of an error. */
export function NotAvailable({ feature, children }: { feature: string; children?: ReactNode }) {
  return (
    <div className="notice info" role="status" data-testid="not-available">
      <p>
        <strong>{feature} is not available on this hub.</strong> It answered 404: this hub binary predates the endpoint.
      </p>
      {children !== undefined && <p className="small">{children}</p>}
    </div>
  );
}
