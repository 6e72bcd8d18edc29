"""The user's own account page at the provider (`/account`): second factors, password,
sessions and devices. Signed in through the hosted sign-in page (a provider session)."""
