import { ForgottenIds } from '../../speed-layer/forgotten-ids';
import { RecentIds } from '../../speed-layer/recent-ids';

it('recognises a pair it holds, per app', () => {
  const ids = new RecentIds(10);
  expect(ids.remember('a', 'e1')).toBe('new');
  expect(ids.remember('a', 'e1')).toBe('duplicate');
  expect(ids.remember('b', 'e1')).toBe('new');
  expect(ids.size).toBe(2);
});

it('forgets the oldest pair past its capacity, in order of arrival', () => {
  const ids = new RecentIds(3);
  for (const [app, id] of [['a', '1'], ['b', '2'], ['a', '3']]) ids.remember(app, id);
  expect(ids.remember('a', '4')).toBe('new'); // forgets a/1
  expect(ids.size).toBe(3);
  expect(ids.remember('b', '2')).toBe('duplicate');
  expect(ids.remember('a', '1')).toBe('new'); // new again; forgets b/2
  expect(ids.remember('b', '2')).toBe('new'); // forgets a/3
  expect(ids.remember('a', '3')).toBe('new'); // forgets a/4
  expect(ids.remember('a', '1')).toBe('duplicate');
  expect(ids.remember('a', '4')).toBe('new');
});

it('keeps the place of a pair remembered again', () => {
  const ids = new RecentIds(2);
  ids.remember('a', '1');
  ids.remember('a', '2');
  expect(ids.remember('a', '1')).toBe('duplicate'); // still the oldest
  ids.remember('a', '3'); // forgets a/1
  expect(ids.remember('a', '2')).toBe('duplicate');
  expect(ids.remember('a', '1')).toBe('new');
});

it('matches a plain model over a long random run', () => {
  const capacity = 50;
  const ids = new RecentIds(capacity);
  const model: string[] = [];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 20_000; i++) {
    const app = `app${rand(3)}`;
    const id = `e${rand(120)}`;
    const key = `${app}/${id}`;
    const fresh = !model.includes(key);
    if (fresh) {
      model.push(key);
      if (model.length > capacity) model.shift();
    }
    expect(ids.remember(app, id)).toBe(fresh ? 'new' : 'duplicate');
  }
  expect(ids.size).toBe(capacity);
});

it('refuses a capacity that is not a positive integer', () => {
  expect(() => new RecentIds(0)).toThrow('positive integer');
});

describe('with the forgotten ids', () => {
  it('tells a copy of a forgotten pair from a new pair, and forgets it too once the filters roll over', () => {
    const ids = new RecentIds(2, new ForgottenIds(3, 1e-6));
    for (const id of ['1', '2', '3']) expect(ids.remember('a', id)).toBe('new'); // forgets a/1
    expect(ids.remember('a', '1')).toBe('forgotten'); // counted again; forgets a/2
    expect(ids.remember('a', '1')).toBe('duplicate');
    expect(ids.remember('b', '1')).toBe('new'); // per app
    // 3 per generation, 2 generations: a/2 leaves the filters after 6 more pairs are forgotten
    for (let i = 10; i < 16; i++) ids.remember('a', String(i));
    expect(ids.remember('a', '2')).toBe('new');
  });

  it('errs high at most at about its false-positive rate', () => {
    const rate = 1e-3;
    const forgotten = new ForgottenIds(20_000, rate);
    for (let i = 0; i < 20_000; i++) forgotten.add('a', `old-${i}`);
    let hits = 0;
    for (let i = 0; i < 50_000; i++) if (forgotten.probablyHas('a', `new-${i}`)) hits++;
    expect(hits / 50_000).toBeLessThan(3 * rate);
    for (let i = 0; i < 20_000; i += 997) expect(forgotten.probablyHas('a', `old-${i}`)).toBe(true);
  });

  it('has a bounded size and refuses bad settings', () => {
    expect(new ForgottenIds(1_000_000, 1e-4).maxBytes).toBeLessThan(5 * 2 ** 20);
    expect(() => new ForgottenIds(0, 0.01)).toThrow('positive integer');
    expect(() => new ForgottenIds(10, 1)).toThrow('(0, 1)');
  });
});
