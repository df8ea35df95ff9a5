import { GENERATOR_SPLITS } from '../../operators/sources/datagen-source.js';
import { pick, sampleEventTime } from './sample-random.js';

const STATUSES = ['created', 'PAID', 'Paid', 'shipped', 'SHIPPED', 'delivered', 'cancelled', 'canceled'];
const CURRENCIES = ['usd', 'USD', 'eur', 'EUR', ' gbp ', 'JPY', 'chf'];

/**
 * Order `index` as the shop's service publishes it: mixed-case enums, prices as decimal strings,
 * and about 3 % redeliveries (the same order id as an earlier record, as after a producer retry).
 * A redelivery repeats an order of the same generator split (an index 16·k earlier), as a retry
 * lands in the same Kafka partition: dedup state never has to cross subtasks.
 */
export function sampleOrder(index: number, random: () => number): unknown {
  const redelivery = index >= 10 * GENERATOR_SPLITS && random() < 0.03;
  const orderIndex = redelivery ? index - GENERATOR_SPLITS * (1 + Math.floor(random() * 9)) : index;
  const items = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => ({
    sku: `sku-${(orderIndex * 7 + i * 13) % 5000}`,
    quantity: 1 + Math.floor(random() * 3),
    unit_price: (1 + Math.floor(random() * 20000) / 100).toFixed(2),
  }));
  return {
    order_id: `o-${String(orderIndex).padStart(9, '0')}`,
    customer_id: `c-${Math.floor(random() * 50_000)}`,
    status: pick(random, STATUSES),
    currency: pick(random, CURRENCIES),
    items,
    shipping: random() < 0.5 ? '4.99' : '0',
    created_at: new Date(sampleEventTime(orderIndex, random)).toISOString(),
  };
}
