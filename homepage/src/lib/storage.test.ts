import { describe, expect, it } from 'vitest'
import {
  CONVERSATION_ID_KEY,
  TOKEN_KEY,
  USER_ID_KEY,
  clearSession,
  currentConversationId,
  forgetToken,
  loadSession,
  saveSession,
  startNewConversationId,
} from './storage'

const session = {
  userId: 'usr_1a2b3c4d',
  token: 'aaa.bbb.ccc',
  merchantId: 'merchant_mystore',
  shop: 'mystore.myshopify.com',
}

describe('session storage', () => {
  it('keeps only the user id under hirecj_user_id and the token under its own key', () => {
    saveSession(session)
    expect(USER_ID_KEY).toBe('hirecj_user_id')
    expect(localStorage.getItem('hirecj_user_id')).toBe('usr_1a2b3c4d')
    expect(localStorage.getItem(TOKEN_KEY)).toBe('aaa.bbb.ccc')
    expect(TOKEN_KEY).not.toBe(USER_ID_KEY)
    expect(loadSession()).toEqual(session)
  })

  it('is signed in only with both a user id and a token', () => {
    localStorage.setItem(USER_ID_KEY, 'usr_1a2b3c4d')
    expect(loadSession()).toBeNull()
  })

  it('sign-out forgets token, user id, merchant and shop', () => {
    saveSession(session)
    clearSession()
    expect(loadSession()).toBeNull()
    for (let i = 0; i < localStorage.length; i += 1) {
      expect(localStorage.key(i)).not.toMatch(/^hirecj_/)
    }
  })

  it('forgetToken keeps the user id but signs out', () => {
    saveSession(session)
    forgetToken()
    expect(localStorage.getItem(USER_ID_KEY)).toBe('usr_1a2b3c4d')
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull()
    expect(loadSession()).toBeNull()
  })
})

describe('conversation id', () => {
  it('is a UUID kept in sessionStorage, so a reload resumes it', () => {
    const id = currentConversationId()
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(sessionStorage.getItem(CONVERSATION_ID_KEY)).toBe(id)
    expect(currentConversationId()).toBe(id)
  })

  it('starts a fresh one on request and replaces a corrupt value', () => {
    const first = currentConversationId()
    const second = startNewConversationId()
    expect(second).not.toBe(first)
    expect(currentConversationId()).toBe(second)
    sessionStorage.setItem(CONVERSATION_ID_KEY, 'garbage')
    expect(currentConversationId()).not.toBe('garbage')
  })
})
