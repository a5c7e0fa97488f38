import { act } from '@testing-library/react'
import { vi } from 'vitest'

/** A stand-in IntersectionObserver whose targets a test scrolls into view by hand. */
export function fakeIntersectionObserver() {
  const observers: { callback: IntersectionObserverCallback; targets: Element[] }[] = []
  class FakeObserver {
    private readonly entry: { callback: IntersectionObserverCallback; targets: Element[] }
    constructor(callback: IntersectionObserverCallback) {
      this.entry = { callback, targets: [] }
      observers.push(this.entry)
    }
    observe(target: Element) {
      this.entry.targets.push(target)
    }
    unobserve() {}
    disconnect() {
      this.entry.targets = []
    }
    takeRecords() {
      return []
    }
  }
  vi.stubGlobal('IntersectionObserver', FakeObserver)
  return {
    /** Every observed element comes into view. */
    scrollAllIntoView() {
      act(() => {
        for (const { callback, targets } of observers) {
          if (targets.length === 0) continue
          const entries = targets.map((target) => ({ target, isIntersecting: true }) as IntersectionObserverEntry)
          callback(entries, {} as IntersectionObserver)
        }
      })
    },
  }
}
