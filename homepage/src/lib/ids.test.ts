import { afterEach, describe, expect, it, vi } from 'vitest'

import { newMessageId } from './ids'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('newMessageId', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('is a UUID v4, different each time', () => {
    const ids = new Set(Array.from({ length: 50 }, newMessageId))
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(UUID_V4)
  })

  it('works where crypto.randomUUID does not exist (plain http on another host)', () => {
    vi.stubGlobal('crypto', { getRandomValues: crypto.getRandomValues.bind(crypto) })
    expect(newMessageId()).toMatch(UUID_V4)
  })
})
