import { useEffect, type RefObject } from 'react'

/**
 * Calls `onVisible` whenever the element scrolls into view inside `root` (the sidebar's next
 * page loads as its end comes near). Without IntersectionObserver it does nothing; the caller
 * then shows a button.
 */
export function useOnVisible(
  target: RefObject<Element | null>,
  onVisible: () => void,
  { enabled, root }: { enabled: boolean; root?: RefObject<Element | null> },
): void {
  useEffect(() => {
    const element = target.current
    if (!enabled || !element || typeof IntersectionObserver === 'undefined') return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) onVisible()
      },
      { root: root?.current ?? null, rootMargin: '120px' },
    )
    observer.observe(element)
    return () => observer.disconnect()
  }, [target, root, onVisible, enabled])
}
