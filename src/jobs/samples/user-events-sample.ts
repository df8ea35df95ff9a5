import { pick, sampleEventTime } from './sample-random.js';

/** Event types as different clients spell them, weighted towards page views and clicks. */
const EVENT_TYPES = [
  'page_view', 'PageView', 'pageview', 'page-view', 'screen_view', 'page_view', 'PAGE_VIEW',
  'click', 'Click', 'tap', 'click',
  'search', 'Search',
  'add_to_cart', 'AddToCart', 'cart_add',
  'remove_from_cart', 'checkout', 'begin_checkout', 'purchase', 'order_completed',
  'signup', 'sign_up', 'login', 'Sign In', 'logout',
];
/** Events no mapping knows yet: they must land as `other` with the raw value. */
const UNKNOWN_TYPES = ['video_play', 'Experiment-Exposure', 'share', 'wishlist_add'];
const PAGES = ['/', '/search', '/products/sku-12', '/products/sku-981', '/cart', '/checkout', '/account', '/help'];
const DEVICES = ['web', 'ios', 'android'];
const OFFSETS = ['Z', 'Z', 'Z', '+02:00', '-05:00', '+05:30'];

/** ISO-8601 text of `ms` in a fixed UTC offset like `+02:00`, as a client in that zone sends it. */
function isoWithOffset(ms: number, offset: string): string {
  if (offset === 'Z') return new Date(ms).toISOString();
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(ms + minutes * 60_000).toISOString().replace('Z', offset);
}

/**
 * User event `index` as the web and mobile clients publish it: event types in mixed spellings
 * (about 2 % of types no mapping knows), times in the client's UTC offset, optional page and
 * properties.
 */
export function sampleUserEvent(index: number, random: () => number): unknown {
  const eventType = random() < 0.02 ? pick(random, UNKNOWN_TYPES) : pick(random, EVENT_TYPES);
  const user = Math.floor(random() * 20_000);
  const device = pick(random, DEVICES);
  const event: Record<string, unknown> = {
    event_id: `e-${String(index).padStart(10, '0')}`,
    user_id: `u-${user}`,
    session_id: `s-${user}-${Math.floor(index / 50)}`,
    event_type: eventType,
    occurred_at: isoWithOffset(sampleEventTime(index, random, { perRecordMs: 200 }), pick(random, OFFSETS)),
    device,
  };
  if (device === 'web') event.page = pick(random, PAGES);
  if (random() < 0.3) event.properties = { referrer: pick(random, ['google', 'newsletter', 'direct']), experiment: `exp-${Math.floor(random() * 5)}` };
  return event;
}
