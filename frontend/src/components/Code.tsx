/** A short usage snippet shown on example pages. */
export function Code({ children }: { children: string }) {
  return (
    <details className="code">
      <summary>Code</summary>
      <pre className="mono">{children}</pre>
    </details>
  );
}
