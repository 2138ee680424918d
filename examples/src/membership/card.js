// The membership card: LIFF gives the ID token, the app's API verifies it and answers the
// card. The page never sends a user ID of its own; the server reads the user from the token.
// Every text is set with textContent (nothing from the server becomes markup).
(function () {
  'use strict';

  const MESSAGES = {
    unlinked: 'Your LINE account is not linked to a membership yet. ' +
      'Link it from the menu in our LINE account to see your card here.',
    unauthorized: 'We could not confirm your LINE login. Close this page and open it again from LINE.',
    noToken: 'LINE did not give this page your login. Close it and open it again from LINE.',
    noSdk: 'The LINE SDK could not be loaded. Check your connection and open this page again.',
    error: 'Your card cannot be shown right now. Please try again later.',
  };

  const $ = (id) => document.getElementById(id);

  function finish(state, message) {
    $('status').textContent = message || '';
    $('status').hidden = !message;
    document.body.dataset.state = state;
  }

  function showCard(card) {
    $('name').textContent = card.name;
    $('tier').textContent = card.tier;
    $('spent').textContent = card.spent + ' spent in the last ' + card.window_days + ' days';
    $('progress').textContent = card.next
      ? card.next.text
      : 'You have reached ' + card.tier + ', our top tier.';
    $('member').hidden = false;
    finish('member', '');
  }

  async function main() {
    const liff = window.liff;
    if (!liff) {
      finish('error', MESSAGES.noSdk);
      return;
    }
    await liff.init({ liffId: document.body.dataset.liffId });
    if (!liff.isLoggedIn()) {
      // Outside the LINE app: LINE Login first, then LINE opens this page again.
      liff.login();
      return;
    }
    const token = liff.getIDToken();
    if (!token) {
      finish('error', MESSAGES.noToken);
      return;
    }
    const res = await fetch('api/card', { headers: { Authorization: 'Bearer ' + token } });
    if (res.status === 401) {
      finish('unauthorized', MESSAGES.unauthorized);
    } else if (res.status === 404) {
      finish('unlinked', MESSAGES.unlinked);
    } else if (!res.ok) {
      finish('error', MESSAGES.error);
    } else {
      showCard(await res.json());
    }
  }

  main().catch(function () {
    finish('error', MESSAGES.error);
  });
})();
