import { fireEvent, screen, waitFor } from '@testing-library/react'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { fakeFetch, json } from '../test/fakeFetch'
import { renderWithProviders } from '../test/render'
import { ConnectShopify } from './ConnectShopify'

beforeEach(() => {
  vi.unstubAllGlobals()
})

describe('ConnectShopify', () => {
  it('normalises the shop and goes to the install URL', async () => {
    fakeFetch(() => json({ configured: true, demo: false }))
    const navigate = vi.fn()
    renderWithProviders(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'https://MyStore.myshopify.com/admin' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    await waitFor(() => expect(navigate).toHaveBeenCalledWith('/api/v1/shopify/install?shop=mystore.myshopify.com'))
  })

  it('shows an inline error for an invalid shop and does not navigate', () => {
    fakeFetch(() => json({ configured: true, demo: false }))
    const navigate = vi.fn()
    renderWithProviders(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'my store!' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    expect(screen.getByTestId('shop-error')).toHaveTextContent(/letters, digits and hyphens/)
    expect(screen.getByTestId('shop-input')).toHaveAttribute('aria-invalid', 'true')
    expect(navigate).not.toHaveBeenCalled()
  })

  it('explains in the page, without navigating, when Shopify is not configured', async () => {
    const calls = fakeFetch(() => json({ configured: false, demo: false }))
    const navigate = vi.fn()
    renderWithProviders(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    expect(await screen.findByTestId('shopify-not-configured')).toHaveTextContent(/not set up here yet/)
    expect(screen.getByTestId('shopify-not-configured')).toHaveTextContent('SHOPIFY_CLIENT_ID')
    expect(screen.queryByTestId('shop-input')).not.toBeInTheDocument()
    expect(calls[0].url.pathname).toBe('/api/v1/shopify/config')
    expect(navigate).not.toHaveBeenCalled()
  })

  it('labels the demo store', async () => {
    fakeFetch(() => json({ configured: true, demo: true }))
    renderWithProviders(<ConnectShopify navigate={vi.fn()} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    expect(await screen.findByTestId('demo-store-note')).toHaveTextContent(/demo store/i)
  })

  it('still tries an auth that has no config route (404)', async () => {
    fakeFetch(() => json({ detail: 'Not Found' }, 404))
    const navigate = vi.fn()
    renderWithProviders(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'mystore' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    await waitFor(() => expect(navigate).toHaveBeenCalledWith('/api/v1/shopify/install?shop=mystore.myshopify.com'))
  })

  it('says so when auth cannot be reached, and stays on the page', async () => {
    fakeFetch(() => {
      throw new TypeError('Failed to fetch')
    })
    const navigate = vi.fn()
    renderWithProviders(<ConnectShopify navigate={navigate} />)
    fireEvent.click(screen.getByTestId('connect-shopify'))
    fireEvent.change(screen.getByTestId('shop-input'), { target: { value: 'mystore' } })
    fireEvent.click(screen.getByTestId('connect-submit'))
    expect(await screen.findByTestId('shop-error')).toHaveTextContent(/Could not reach/)
    expect(navigate).not.toHaveBeenCalled()
  })
})
