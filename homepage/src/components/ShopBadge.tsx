import { shopName } from '../lib/shop'

interface ShopBadgeProps {
  shop: string | null
}

/** The signed-in store's name and a "Connected" mark, as Slack shows its workspace. */
export function ShopBadge({ shop }: ShopBadgeProps) {
  const name = shop ? shopName(shop) : 'Your store'
  return (
    <span className="shop-badge" data-testid="shop-badge" title={shop ?? undefined}>
      <span className="shop-badge__name" data-testid="shop-name">
        {name}
      </span>
      <span className="shop-badge__status" data-testid="connected-mark">
        <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false">
          <path d="M2.5 6.2 5 8.5l4.5-5" fill="none" stroke="currentColor" strokeWidth="1.8" />
        </svg>
        Connected
      </span>
    </span>
  )
}
