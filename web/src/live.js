// live.js - the inbox's live updates: one EventSource on /api/v1/events (the
// session cookie goes with it), its state for the page ("live" or
// "reconnecting"), and a slow fallback poll in case a stream goes quiet.
import { useState, useEffect, useRef } from 'preact/hooks';

const TYPES = [
  'message.created', 'message.status', 'conversation.updated', 'conversation.assigned',
  'note.created', 'typing', 'resync',
];
const FALLBACK_MS = 60000;

/**
 * Calls onEvent(type, data) for every live event (data is the parsed JSON, or
 * {} when it does not parse), and onEvent('poll', {}) every 60 s while the page
 * is visible. Returns 'connecting', 'live' or 'reconnecting'. EventSource
 * reconnects by itself (the server asks for 3 s), sending Last-Event-ID, so
 * missed events come again or as `resync`.
 */
export function useLive(onEvent) {
  const [state, setState] = useState('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    if (typeof EventSource === 'undefined') { setState('reconnecting'); return undefined; }
    const es = new EventSource('/api/v1/events', { withCredentials: true });
    let wasDown = false;
    es.onopen = () => {
      setState('live');
      // After a drop the missed events come again or as `resync`; reloading
      // once more costs little and covers a server that forgot everything.
      if (wasDown) handler.current('resync', {});
      wasDown = false;
    };
    es.onerror = () => { wasDown = true; setState('reconnecting'); };
    for (const type of TYPES) {
      es.addEventListener(type, (e) => {
        let data = {};
        try { data = JSON.parse(e.data) || {}; } catch (err) { data = {}; }
        handler.current(type, data);
      });
    }
    const poll = setInterval(() => {
      if (document.visibilityState === 'visible') handler.current('poll', {});
    }, FALLBACK_MS);
    return () => { es.close(); clearInterval(poll); };
  }, []);

  return state;
}
