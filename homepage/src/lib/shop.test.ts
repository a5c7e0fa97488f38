import { describe, expect, it } from 'vitest'
import { isValidShopDomain, normalizeShop } from './shop'

describe('normalizeShop', () => {
  it.each([
    ['mystore', 'mystore.myshopify.com'],
    ['  MyStore  ', 'mystore.myshopify.com'],
    ['mystore.myshopify.com', 'mystore.myshopify.com'],
    ['https://mystore.myshopify.com', 'mystore.myshopify.com'],
    ['https://mystore.myshopify.com/admin/products?x=1', 'mystore.myshopify.com'],
    ['mystore.myshopify.com/', 'mystore.myshopify.com'],
    ['http://my-store-2.myshopify.com', 'my-store-2.myshopify.com'],
    ['https://admin.shopify.com/store/mystore/orders', 'mystore.myshopify.com'],
    ['a'.repeat(63), `${'a'.repeat(63)}.myshopify.com`],
  ])('accepts %j as %s', (input, expected) => {
    expect(normalizeShop(input)).toEqual({ ok: true, shop: expected })
  })

  it.each([
    [''],
    ['   '],
    ['-mystore'],
    ['my store'],
    ['my_store'],
    ['mystore.com'],
    ['https://example.com'],
    ['evil.myshopify.com.example.com'],
    ['a.b.myshopify.com'],
    ['a'.repeat(64)],
    ['mystore.myshopify.com:8080'],
    ['https://admin.shopify.com/'],
    ['.myshopify.com'],
  ])('rejects %j with a message', (input) => {
    const result = normalizeShop(input)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error.length).toBeGreaterThan(10)
  })

  it('agrees with the server rule', () => {
    expect(isValidShopDomain('mystore.myshopify.com')).toBe(true)
    expect(isValidShopDomain('MyStore.myshopify.com')).toBe(false)
    expect(isValidShopDomain('mystore.myshopify.com.evil')).toBe(false)
  })
})
