import { useId } from 'react';

// CONTRACT-NEXT item 4: 1–16 topics, each 1–256 characters of this set (commas included,
// so the field separates topics by spaces). A stream's selector may end with `*` (prefix).
const TOPIC_RE = /^[A-Za-z0-9._~:@!$&'()+,;=/-]{1,256}$/;
const SELECTOR_RE = /^[A-Za-z0-9._~:@!$&'()+,;=/-]{0,255}\*$|^[A-Za-z0-9._~:@!$&'()+,;=/-]{1,256}$/;
export const MAX_TOPICS = 16;

/** Topics (or selectors) from space-separated text: the valid ones and the rejected ones. */
export function parseTopicList(text: string, selectors = false): { valid: string[]; invalid: string[] } {
  const re = selectors ? SELECTOR_RE : TOPIC_RE;
  const items = text.split(/\s+/).filter((t) => t !== '');
  const valid = [...new Set(items.filter((t) => re.test(t)))].slice(0, MAX_TOPICS);
  return { valid, invalid: items.filter((t) => !re.test(t)) };
}

interface Props {
  value: string;
  onChange: (text: string) => void;
  /** Whether the hub has topics: null while unknown; false disables the field with a note. */
  supported: boolean | null;
  /** Selectors (`org/42/*`) for a stream rather than topics of an event. */
  selectors?: boolean;
  testId?: string;
}

/** Topics of an event, or topic selectors of a stream; disabled with a note on hubs without topics. */
export function TopicsField({ value, onChange, supported, selectors = false, testId }: Props) {
  const id = useId();
  const { invalid } = parseTopicList(value, selectors);
  const note =
    supported === false
      ? 'This hub does not support topics (it ignores them), so the field is off.'
      : supported === null
        ? 'Checking whether this hub supports topics…'
        : selectors
          ? `Space separated; a selector ending in * matches a prefix (org/42/*). Without one, topic-scoped events never reach this stream.`
          : `Space separated, up to ${MAX_TOPICS}; only streams that ask for a matching topic receive the event.`;
  return (
    <div className="field" data-testid={testId} data-supported={String(supported)}>
      <label htmlFor={id}>{selectors ? 'Topic selectors' : 'Topics'}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        disabled={supported !== true}
        placeholder={selectors ? 'org/42/* org/7/room1' : 'org/42/room1'}
        aria-invalid={invalid.length > 0}
        aria-describedby={`${id}-note`}
        data-testid={testId === undefined ? undefined : `${testId}-input`}
      />
      <span id={`${id}-note`} className={invalid.length > 0 ? 'small text-bad' : 'small muted'} data-testid={testId === undefined ? undefined : `${testId}-note`}>
        {invalid.length > 0 ? `Not valid, ignored: ${invalid.join(' ')}` : note}
      </span>
    </div>
  );
}
