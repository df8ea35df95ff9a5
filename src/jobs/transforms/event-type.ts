/**
 * Event types of the `user_events` table: the clients send the same event under many spellings
 * (`PageView`, `page-view`, `pageview`), so the table keeps one canonical name per event.
 */

/** The canonical event types; anything else is `other` (with the raw value kept beside it). */
export const EVENT_TYPES = ['page_view', 'click', 'search', 'add_to_cart', 'remove_from_cart', 'checkout', 'purchase', 'signup', 'login', 'logout', 'other'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const ALIASES: Readonly<Record<string, EventType>> = {
  page_view: 'page_view', pageview: 'page_view', view: 'page_view', screen_view: 'page_view', page: 'page_view',
  click: 'click', tap: 'click',
  search: 'search', query: 'search',
  add_to_cart: 'add_to_cart', addtocart: 'add_to_cart', cart_add: 'add_to_cart',
  remove_from_cart: 'remove_from_cart', cart_remove: 'remove_from_cart',
  checkout: 'checkout', begin_checkout: 'checkout', checkout_start: 'checkout',
  purchase: 'purchase', order_completed: 'purchase', checkout_complete: 'purchase',
  signup: 'signup', sign_up: 'signup', register: 'signup',
  login: 'login', log_in: 'login', sign_in: 'login', signin: 'login',
  logout: 'logout', log_out: 'logout', sign_out: 'logout', signout: 'logout',
};

/** `"PageView"`, `" page-view "`, `"PAGE_VIEW"` → `"page_view"` (the key the aliases are looked up by). */
export function canonicalSpelling(raw: string): string {
  return raw
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[\s.\-/]+/g, '_');
}

/** The canonical type of a raw event type; unknown spellings are `other`, never dropped. */
export function normalizeEventType(raw: string): EventType {
  return ALIASES[canonicalSpelling(raw)] ?? 'other';
}
