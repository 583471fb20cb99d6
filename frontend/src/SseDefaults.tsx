// The hub credentials every useSse of the SPA uses: the API key typed into the
// header (sessionStorage). A page's own useSse options still win.
import { SseProvider } from '@ssehub/client/react';
import type { ReactNode } from 'react';
import { useApiKey } from './hooks/useApiKey';

export function SseDefaults({ children }: { children: ReactNode }) {
  const [apiKey] = useApiKey();
  return <SseProvider apiKey={apiKey}>{children}</SseProvider>;
}
