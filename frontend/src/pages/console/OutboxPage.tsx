import { Freshness } from '../../components/Freshness';
import { PageHeader } from '../../components/PageHeader';
import { KeyGate } from '../../components/console/KeyGate';
import { HistoryBrowser } from '../../components/console/HistoryBrowser';
import { NotAvailable } from '../../components/console/NotAvailable';
import { num } from '../../components/console/format';
import { Tile } from '../../components/console/Tile';
import { useHubFeatures } from '../../hooks/useHubFeatures';
import { useStatsFeed } from '../../hooks/useStatsFeed';
import type { Stats } from '../../lib/api';
import { duration } from '../../lib/time';

function retentionText(s: Stats): string {
  const r = s.retention;
  if (r === undefined) return 'not reported by this hub';
  const parts = [r.maxEvents === null || r.maxEvents === undefined ? null : `newest ${r.maxEvents.toLocaleString()} events`, r.maxAgeSeconds === null || r.maxAgeSeconds === undefined ? null : `${duration(r.maxAgeSeconds * 1000)}`];
  const set = parts.filter((p) => p !== null);
  return set.length === 0 ? 'keeps everything' : `keeps ${set.join(' and at most ')}`;
}

export function OutboxPage() {
  const { poll } = useStatsFeed();
  const features = useHubFeatures(['history']);
  const stats = poll.data?.stats ?? null;
  const stale = poll.failingSince !== null;
  const head = stats?.headSequence ?? null;
  const oldest = stats?.oldestSequence ?? null;
  const retained = head !== null && oldest !== null ? head - oldest + 1 : oldest === null && stats !== null ? 0 : null;
  return (
    <>
      <PageHeader title="Outbox">
        The durable, ordered log every stream replays from: its newest and oldest retained sequence and what retention keeps. Streams that resume
        from before the oldest get a reset notice.
      </PageHeader>
      <KeyGate />
      <section className={stale ? 'panel console stale' : 'panel console'} aria-label="Outbox" data-testid="outbox-panel" data-stale={stale}>
        <Freshness polled={poll} testId="outbox-freshness" />
        {stats !== null && (
          <div className="tiles">
            <Tile label="head sequence" testId="outbox-head">
              {num(head)}
            </Tile>
            <Tile label="oldest retained" testId="outbox-oldest">
              {num(oldest)}
            </Tile>
            <Tile label="events retained">{num(retained)}</Tile>
            <Tile label="retention" testId="outbox-retention" text>
              {retentionText(stats)}
            </Tile>
            <Tile label="store">{typeof stats.store === 'string' ? stats.store : '—'}</Tile>
          </div>
        )}
      </section>
      {features.history === false ? (
        <NotAvailable feature="The history browser">
          Reading the outbox needs <code>GET /api/sse/events</code>. A stream with a <code>checkpoint=</code> still replays it.
        </NotAvailable>
      ) : features.history === null ? (
        <p className="muted">Checking whether this hub can list its history…</p>
      ) : (
        <HistoryBrowser oldest={oldest} topics={features.topics === true} />
      )}
    </>
  );
}
