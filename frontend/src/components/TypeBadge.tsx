const KNOWN = new Set(['notification', 'alert', 'dataUpdate', 'heartbeat', 'message']);

export function TypeBadge({ type, invalid = false }: { type: string; invalid?: boolean }) {
  const cls = invalid ? 'badge-invalid' : KNOWN.has(type) ? `badge-${type}` : 'badge-custom';
  return (
    <span className={`badge ${cls}`} data-testid="type-badge">
      {type}
    </span>
  );
}
