import { RecentIds } from '../../speed-layer/recent-ids';

it('recognises a pair it holds, per app', () => {
  const ids = new RecentIds(10);
  expect(ids.remember('a', 'e1')).toBe(true);
  expect(ids.remember('a', 'e1')).toBe(false);
  expect(ids.remember('b', 'e1')).toBe(true);
  expect(ids.size).toBe(2);
});

it('forgets the oldest pair past its capacity, in order of arrival', () => {
  const ids = new RecentIds(3);
  for (const [app, id] of [['a', '1'], ['b', '2'], ['a', '3']]) ids.remember(app, id);
  expect(ids.remember('a', '4')).toBe(true); // forgets a/1
  expect(ids.size).toBe(3);
  expect(ids.remember('b', '2')).toBe(false);
  expect(ids.remember('a', '1')).toBe(true); // new again; forgets b/2
  expect(ids.remember('b', '2')).toBe(true); // forgets a/3
  expect(ids.remember('a', '3')).toBe(true); // forgets a/4
  expect(ids.remember('a', '1')).toBe(false);
  expect(ids.remember('a', '4')).toBe(true);
});

it('keeps the place of a pair remembered again', () => {
  const ids = new RecentIds(2);
  ids.remember('a', '1');
  ids.remember('a', '2');
  expect(ids.remember('a', '1')).toBe(false); // still the oldest
  ids.remember('a', '3'); // forgets a/1
  expect(ids.remember('a', '2')).toBe(false);
  expect(ids.remember('a', '1')).toBe(true);
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
    expect(ids.remember(app, id)).toBe(fresh);
  }
  expect(ids.size).toBe(capacity);
});

it('refuses a capacity that is not a positive integer', () => {
  expect(() => new RecentIds(0)).toThrow('positive integer');
});
