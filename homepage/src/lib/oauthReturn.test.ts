import { describe, expect, it, vi } from 'vitest'
import { consumeOAuthReturn, parseOAuthReturn, urlWithoutOAuth } from './oauthReturn'

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMTIzNDU2NzgifQ.c2lnbmF0dXJl'
const COMPLETE =
  '?oauth=complete&is_new=true&merchant_id=merchant_mystore&user_id=usr_1a2b3c4d&shop=mystore.myshopify.com'

describe('parseOAuthReturn', () => {
  it('reads the params and the #token fragment', () => {
    expect(parseOAuthReturn(COMPLETE, `#token=${TOKEN}`)).toEqual({
      kind: 'complete',
      completion: {
        isNew: true,
        merchantId: 'merchant_mystore',
        userId: 'usr_1a2b3c4d',
        shop: 'mystore.myshopify.com',
        token: TOKEN,
      },
    })
  })

  it('treats is_new other than "true" as a returning user', () => {
    const result = parseOAuthReturn(COMPLETE.replace('is_new=true', 'is_new=false'), `#token=${TOKEN}`)
    expect(result.kind === 'complete' && result.completion.isNew).toBe(false)
  })

  it('returns none for an ordinary visit', () => {
    expect(parseOAuthReturn('', '')).toEqual({ kind: 'none' })
    expect(parseOAuthReturn('?foo=bar', '#section')).toEqual({ kind: 'none' })
  })

  it('fails clearly when the token is missing', () => {
    const result = parseOAuthReturn(COMPLETE, '')
    expect(result).toMatchObject({ kind: 'error', reason: 'missing_token' })
  })

  it('fails clearly when the user id is missing or malformed', () => {
    expect(parseOAuthReturn(COMPLETE.replace('&user_id=usr_1a2b3c4d', ''), `#token=${TOKEN}`)).toMatchObject({
      kind: 'error',
      reason: 'missing_user',
    })
    expect(
      parseOAuthReturn(COMPLETE.replace('usr_1a2b3c4d', '<script>'), `#token=${TOKEN}`),
    ).toMatchObject({ kind: 'error', reason: 'invalid_user' })
  })

  it('rejects a token that is not a JWT', () => {
    expect(parseOAuthReturn(COMPLETE, '#token=not-a-jwt')).toMatchObject({
      kind: 'error',
      reason: 'invalid_token',
    })
  })

  it('drops a shop or merchant id of the wrong shape but keeps the sign-in', () => {
    const search = COMPLETE.replace('mystore.myshopify.com', 'evil.example.com').replace(
      'merchant_mystore',
      'merchant mystore!',
    )
    const result = parseOAuthReturn(search, `#token=${TOKEN}`)
    expect(result).toMatchObject({ kind: 'complete', completion: { shop: null, merchantId: null } })
  })

  it('reports oauth=error with its reason and a readable message', () => {
    const result = parseOAuthReturn('?oauth=error&reason=access_denied', '')
    expect(result).toMatchObject({ kind: 'error', reason: 'access_denied' })
    expect(result.kind === 'error' && result.message).toMatch(/cancelled/)
    const unknown = parseOAuthReturn('?oauth=error', '')
    expect(unknown).toMatchObject({ kind: 'error', reason: 'unknown' })
    expect(unknown.kind === 'error' && unknown.message).toMatch(/could not connect/i)
  })
})

describe('urlWithoutOAuth / consumeOAuthReturn', () => {
  it('removes only the OAuth params', () => {
    expect(urlWithoutOAuth('/chat', COMPLETE)).toBe('/chat')
    expect(urlWithoutOAuth('/chat', `${COMPLETE}&utm_source=x`)).toBe('/chat?utm_source=x')
  })

  it('saves the completion and scrubs params and fragment from the address bar', () => {
    window.history.replaceState(null, '', `/chat${COMPLETE}#token=${TOKEN}`)
    const save = vi.fn()
    const result = consumeOAuthReturn(window.location, window.history, save)
    expect(result.kind).toBe('complete')
    expect(save).toHaveBeenCalledWith(expect.objectContaining({ userId: 'usr_1a2b3c4d', token: TOKEN }))
    expect(window.location.pathname).toBe('/chat')
    expect(window.location.search).toBe('')
    expect(window.location.hash).toBe('')
    expect(window.location.href).not.toContain(TOKEN)
  })

  it('scrubs a failed return too and saves nothing', () => {
    window.history.replaceState(null, '', '/chat?oauth=error&reason=invalid_state')
    const save = vi.fn()
    expect(consumeOAuthReturn(window.location, window.history, save).kind).toBe('error')
    expect(save).not.toHaveBeenCalled()
    expect(window.location.search).toBe('')
  })

  it('leaves an ordinary address alone', () => {
    window.history.replaceState(null, '', '/chat?x=1')
    const replace = vi.spyOn(window.history, 'replaceState')
    consumeOAuthReturn(window.location, window.history, vi.fn())
    expect(replace).not.toHaveBeenCalled()
  })
})
