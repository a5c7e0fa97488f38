import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { ConnectShopify } from './ConnectShopify'

describe('ConnectShopify', () => {
  it('normalises the shop and goes to the install URL', () => {
    const navigate = vi.fn()
    render(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'https://MyStore.myshopify.com/admin' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    expect(navigate).toHaveBeenCalledWith('/api/v1/shopify/install?shop=mystore.myshopify.com')
  })

  it('shows an inline error for an invalid shop and does not navigate', () => {
    const navigate = vi.fn()
    render(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'my store!' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    expect(screen.getByTestId('shop-error')).toHaveTextContent(/letters, digits and hyphens/)
    expect(screen.getByTestId('shop-input')).toHaveAttribute('aria-invalid', 'true')
    expect(navigate).not.toHaveBeenCalled()
  })
})
