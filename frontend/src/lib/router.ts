// A minimal history-API router: the hub serves index.html for unknown paths,
// so every route below is a real URL that survives a reload.
const listeners = new Set<() => void>();

export const router = {
  path: (): string => window.location.pathname,
  navigate(to: string): void {
    if (to === window.location.pathname + window.location.search) return;
    window.history.pushState(null, '', to);
    for (const l of [...listeners]) l();
    window.scrollTo(0, 0);
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    window.addEventListener('popstate', listener);
    return () => {
      listeners.delete(listener);
      window.removeEventListener('popstate', listener);
    };
  },
};
