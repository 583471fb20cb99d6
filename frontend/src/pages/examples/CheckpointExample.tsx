import { useCallback, useState } from 'react';
import { EventList } from '../../components/EventList';
import { Notices } from '../../components/Notices';
import { PageHeader } from '../../components/PageHeader';
import { RecoveryReport } from '../../components/RecoveryReport';
import { StreamFacts } from '../../components/StreamFacts';
import { useAction } from '../../hooks/useAction';
import { useHubApi } from '../../hooks/useHubApi';
import { useSse } from '../../hooks/useSse';

const AWAY_COUNT = 5;

export function CheckpointExample() {
  const api = useHubApi();
  const [online, setOnline] = useState(true);
  const [away, setAway] = useState<number[]>([]);
  const stream = useSse({ name: 'example-checkpoint', enabled: online });
  const publish = useAction(
    useCallback(async () => {
      const seqs: number[] = [];
      for (let i = 1; i <= AWAY_COUNT; i++) {
        const r = await api.broadcast({ note: 'published while away', n: i });
        seqs.push(r.sequence);
      }
      setAway((prev) => [...prev, ...seqs]);
      return seqs;
    }, [api]),
  );
  const disconnect = () => {
    setAway([]);
    setOnline(false);
  };
  return (
    <>
      <PageHeader title="Checkpoint recovery">
        Disconnect, publish while away, reconnect: the client resumes with checkpoint=lastSequence and the hub replays exactly what was
        missed. Reloading the page works the same way (the position is stored per client id).
      </PageHeader>
      <section className="panel" aria-label="Checkpoint recovery">
        <ol className="steps">
          <li>
            <button type="button" onClick={disconnect} disabled={!online} data-testid="cp-disconnect">
              1. Disconnect
            </button>
          </li>
          <li>
            <button type="button" onClick={() => void publish.run()} disabled={online || publish.pending} data-testid="cp-publish">
              2. Publish {AWAY_COUNT} events while away
            </button>
          </li>
          <li>
            <button type="button" className="primary" onClick={() => setOnline(true)} disabled={online} data-testid="cp-reconnect">
              3. Reconnect
            </button>
          </li>
        </ol>
        {publish.error !== null && <p className="text-bad" role="alert">{publish.error}</p>}
        <RecoveryReport away={away} connection={stream.connection} online={online} />
        <StreamFacts stream={stream} />
        <Notices stream={stream} />
        <EventList events={stream.events} label="Events" />
      </section>
    </>
  );
}
