import { describe, expect, it } from 'vitest'
import { condenseTitle, dayLabel, formatMessageTime, formatRelative, titleOf } from './format'

const NOW = new Date(2025, 2, 14, 15, 30) // Friday 14 March 2025, 15:30 local time
const at = (year: number, month: number, day: number, hour = 12, minute = 0) =>
  new Date(year, month, day, hour, minute).toISOString()

describe('relative dates', () => {
  it.each([
    [new Date(NOW.getTime() - 20_000).toISOString(), 'Just now'],
    [new Date(NOW.getTime() - 5 * 60_000).toISOString(), '5 min ago'],
    [new Date(NOW.getTime() - 2 * 3600_000).toISOString(), '2 h ago'],
    [at(2025, 2, 13, 23, 50), 'Yesterday'],
    [at(2025, 2, 10, 9), 'Monday'],
    [at(2025, 1, 2, 9), '2 February'],
    [at(2024, 11, 31, 9), '31 December 2024'],
  ])('%s reads %s', (iso, expected) => {
    expect(formatRelative(iso, NOW)).toBe(expected)
  })

  it('labels days for the chat', () => {
    expect(dayLabel(at(2025, 2, 14, 8), NOW)).toBe('Today')
    expect(dayLabel(at(2025, 2, 13, 8), NOW)).toBe('Yesterday')
    expect(dayLabel(at(2025, 2, 12, 8), NOW)).toBe('12 March')
    expect(dayLabel(at(2023, 2, 12, 8), NOW)).toBe('12 March 2023')
  })

  it('puts a date on message times that are not today', () => {
    expect(formatMessageTime(at(2025, 2, 14, 8, 5), NOW)).not.toMatch(/Mar/)
    expect(formatMessageTime(at(2025, 2, 12, 8, 5), NOW)).toMatch(/^12 Mar, /)
  })
})

describe('titles', () => {
  it('condenses to at most 60 characters at a word boundary', () => {
    const title = condenseTitle('How do I set up shipping rates for Canada and the rest of the world, please?')
    expect(title.length).toBeLessThanOrEqual(60)
    expect(title).toBe('How do I set up shipping rates for Canada and the rest of…')
    expect(condenseTitle('  short\n question ')).toBe('short question')
  })

  it('falls back to "Untitled chat"', () => {
    expect(titleOf({ title: null })).toBe('Untitled chat')
    expect(titleOf({ title: '  ' })).toBe('Untitled chat')
    expect(titleOf({ title: 'Refunds' })).toBe('Refunds')
  })
})
