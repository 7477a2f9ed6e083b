// format.js - how times, people and messages read on screen (plain text only).

/** "14:05" today, "Mon 14:05" this week, "3 Jan" before. */
export function shortTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return hm;
  if (now - d < 6 * 24 * 3600 * 1000) return d.toLocaleDateString([], { weekday: 'short' }) + ' ' + hm;
  return d.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/** The person's name, or their number with a plus. */
export function personName(contact) {
  if (!contact) return 'Unknown';
  if (contact.name) return contact.name;
  return contact.wa_id ? '+' + contact.wa_id : 'Unknown';
}

const KIND = {
  image: 'Photo', video: 'Video', audio: 'Voice message', document: 'Document',
  sticker: 'Sticker', location: 'Location', contacts: 'Contact card',
  interactive: 'Buttons', button: 'Button reply', template: 'Template',
  reaction: 'Reaction', unsupported: 'Unsupported message',
};

/** A message's text as one would read it aloud: its text, or what it is. */
export function messageText(m) {
  if (m.text) return m.text;
  const c = m.content || {};
  if (m.type === 'location' && c.location) {
    const l = c.location;
    return [l.name, l.address].filter(Boolean).join(', ') || `${l.latitude}, ${l.longitude}`;
  }
  if (m.type === 'reaction' && c.reaction) return c.reaction.emoji || 'Reaction removed';
  const body = c[m.type] || {};
  if (body.caption) return body.caption;
  if (m.type === 'document' && body.filename) return body.filename;
  if (m.type === 'template' && c.template) return 'Template: ' + c.template.name;
  return '';
}

/** The label of a message's kind ("Photo"), or '' for text. */
export function messageKind(m) {
  return m.type === 'text' ? '' : KIND[m.type] || m.type;
}

const TICKS = {
  queued: ['◷', 'Waiting to send'],
  sending: ['◷', 'Sending'],
  unknown: ['◷', 'Sending'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  played: ['✓✓', 'Played'],
  failed: ['!', 'Not delivered'],
};

/** [symbol, words] for an outbound message's delivery status. */
export function ticks(status) {
  return TICKS[status] || ['', status || ''];
}

const RANK = { viewer: 0, operator: 1, supervisor: 2, admin: 3 };

/** Whether user's role is role or above (viewer < operator < supervisor < admin). */
export function atLeast(user, role) {
  return (RANK[user && user.role] || 0) >= RANK[role];
}

/** How long until iso, as "3 h 12 min" or "12 min"; '' when it has passed. */
export function timeLeft(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return '';
  const min = Math.max(1, Math.floor(ms / 60000));
  const h = Math.floor(min / 60);
  return h ? `${h} h ${min % 60} min` : `${min} min`;
}
