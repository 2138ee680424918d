// TEST ONLY: a stand-in for the LINE SDK's `liff` object. The real SDK loads from LINE's
// servers, which tests cannot reach; membership_browser.rs blocks its host and injects this
// file before the page's own scripts (Chrome DevTools `Page.addScriptToEvaluateOnNewDocument`),
// after `window.__liffStubConfig = {idToken: ...}`. It records what the page called in
// `window.__liffStub.calls`. Production pages never load it.
(function () {
  'use strict';
  const config = window.__liffStubConfig || {};
  const calls = [];
  let ready = false;
  window.__liffStub = { calls: calls };
  window.liff = {
    init: function (options) {
      calls.push({ fn: 'init', liffId: options && options.liffId });
      ready = true;
      return Promise.resolve();
    },
    isLoggedIn: function () {
      return ready && config.idToken !== null;
    },
    login: function () {
      calls.push({ fn: 'login' });
    },
    getIDToken: function () {
      calls.push({ fn: 'getIDToken' });
      if (!ready) {
        throw new Error('liff.init has not finished');
      }
      return config.idToken;
    },
  };
})();
