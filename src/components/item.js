// One message's <li>, built in one call: the markup of MessageItem (message_item.rs) for a
// message that never changes once listed (no delivery state to follow): a change to one goes to
// the other. A flood lists thousands of these; Yew made ~25 calls into JS and a component each.
function add(parent, tag, cls, text) {
  const e = document.createElement(tag);
  e.setAttribute('class', cls);
  if (text !== undefined) e.appendChild(document.createTextNode(text));
  parent.appendChild(e);
  return e;
}
export function lcMessageItem(own, id, author, verified, name, claimed, claimedName, time, text) {
  const li = document.createElement('li');
  li.setAttribute('class', own ? 'lc-msg lc-own' : 'lc-msg lc-other');
  li.setAttribute('data-id', id);
  li.setAttribute('data-author', author);
  li.setAttribute('data-verified', verified ? 'true' : 'false');
  const meta = add(li, 'div', 'lc-meta');
  add(meta, 'span', 'lc-author', name);
  if (claimed) {
    const c = add(meta, 'span', 'lc-claimed');
    c.setAttribute('title', 'Name given by the sender, not verified');
    add(c, 'span', 'lc-visually-hidden', 'claims to be ');
    c.appendChild(document.createTextNode('\u201c' + claimedName + '\u201d'));
  }
  if (!verified) {
    const u = add(meta, 'span', 'lc-unverified', 'unverified');
    u.setAttribute('title', 'The broker cannot tell who sent this message: the name is only what the sender claims');
  }
  add(meta, 'time', 'lc-time', lcClockTime(time));
  add(li, 'p', 'lc-text', text);
  return li;
}
// Epoch milliseconds as local HH:MM ('' for an invalid time); MessageItem shows the same.
export function lcClockTime(time) {
  const date = new Date(time);
  const two = (n) => (n < 10 ? '0' : '') + n;
  return isNaN(date.getTime()) ? '' : two(date.getHours()) + ':' + two(date.getMinutes());
}
