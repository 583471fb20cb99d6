import { useCallback, useState } from 'react';
import { Code } from '../../components/Code';
import { EventList } from '../../components/EventList';
import { PageHeader } from '../../components/PageHeader';
import { StreamFacts } from '../../components/StreamFacts';
import { parseTypeList, TypeListField } from '../../components/TypeListField';
import { useAction } from '../../hooks/useAction';
import { useHubApi } from '../../hooks/useHubApi';
import { useHubStream } from '../../hooks/useHubStream';

export function CustomEventsExample() {
  const api = useHubApi();
  const [typesText, setTypesText] = useState('orderShipped, userJoined');
  const types = parseTypeList(typesText);
  const stream = useHubStream({ filter: types });
  const send = useAction(useCallback((type: string) => api.broadcast({ at: new Date().toISOString(), note: `a ${type} event` }, type), [api]));
  return (
    <>
      <PageHeader title="Custom events">
        Any event type of 1–64 letters, digits and <code>._:-</code> works. A browser EventSource only delivers named events it listens
        for, so the hook listens for exactly the types in its filter.
      </PageHeader>
      <Code>{`useSse({ filter: ['orderShipped', 'userJoined'] })
// publish: POST /api/sse/broadcast {"eventType":"orderShipped","data":{...}}`}</Code>
      <section className="panel" aria-label="Custom event stream">
        <TypeListField label="Custom types (comma separated)" value={typesText} onChange={setTypesText} testId="custom-types" />
        <div className="actions" role="group" aria-label="Publish a custom event">
          {types.map((t) => (
            <button key={t} type="button" onClick={() => void send.run(t)} disabled={send.pending}>
              Publish {t}
            </button>
          ))}
          <span role="status" className="result">
            {send.error ?? (send.result !== null ? `Published #${send.result.sequence}` : '')}
          </span>
        </div>
        <StreamFacts stream={stream} />
        <EventList events={stream.events} label="Custom events" />
      </section>
    </>
  );
}
