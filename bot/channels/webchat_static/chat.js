/* Tipline web chat: the page's whole behaviour. Plain ES2020, no dependencies, strict CSP.
 *
 * Talks to POST api/chat (JSON) and api/chat/photo (multipart); see docs/webchat-api.md.
 * Privacy rules kept here:
 *  - the session token lives in this tab's sessionStorage only (never localStorage, no cookies);
 *  - the transcript lives only in the DOM, never in storage; server text is set with
 *    textContent only, never parsed as HTML;
 *  - receipts (kind "receipt") are shown once, never copied to the clipboard, never logged;
 *  - a "wipe" reply clears the transcript and starts a new session token.
 * URLs are relative so the page also works behind a reverse-proxy path ending in "/".
 */
(() => {
  'use strict';

  const SESSION_KEY = 'tipline.session';
  const SESSION_RE = /^[A-Za-z0-9_-]{22,128}$/;
  const MAX_TEXT = 3000;               // the conversation refuses longer messages
  const MAX_PHOTO = 10 * 1024 * 1024;  // the server's default photo limit
  const T = {
    continues: 'Cuộc trò chuyện tiếp tục / Conversation continues',
    restart: 'Bắt đầu lại / Start again',
    netError: 'Không gửi được, vui lòng thử lại. / Could not send, please try again.',
    typing: 'Đang trả lời… / Replying…',
    sendingPhoto: 'Đang gửi ảnh… / Sending photo…',
    locating: 'Đang lấy vị trí… / Getting location…',
    photo: 'Ảnh / Photo',
    locationSent: 'Đã chia sẻ vị trí / Location shared',
    noLocation: 'Không lấy được vị trí. Bạn có thể mô tả nơi đó bằng chữ. / '
      + 'Could not get the location. You can describe the place in words.',
    notImage: 'Vui lòng chọn một tệp ảnh. / Please choose an image file.',
    photoTooBig: 'Ảnh lớn hơn 10 MB. / The photo is larger than 10 MB.',
    tooLong: (n) => `Tin nhắn quá dài (${n}/${MAX_TEXT} ký tự). Hãy gửi thành nhiều phần. / `
      + `Message too long (${n}/${MAX_TEXT} characters). Please send it in parts.`,
    choices: 'Lựa chọn / Choices',
    receiptHidden: 'Mã biên nhận đã được ẩn. / The receipt was hidden.',
  };

  const byId = (id) => document.getElementById(id);
  const make = (tag, className, text) => {
    const node = document.createElement(tag);
    node.className = className;
    if (text) node.textContent = text;  // server text is only ever set as text
    return node;
  };
  const ui = {
    chat: byId('chat'), messages: byId('messages'), typing: byId('typing'),
    typingText: byId('typing-text'), form: byId('composer'), text: byId('text'),
    send: byId('send'), photo: byId('photo'), location: byId('location'), wipe: byId('wipe'),
  };
  let busy = false;
  let activeChoices = null;  // the .choices box of the last bot message with buttons
  let memorySession = null;  // fallback when sessionStorage is unavailable
  const LANG = (navigator.language || '').slice(0, 2).toLowerCase();
  const LOCALE = LANG === 'en' || LANG === 'vi' ? LANG : undefined;  // hint for a new chat

  // --- session token ------------------------------------------------------------------------

  function newToken() {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function storedSession() {
    try {
      const token = sessionStorage.getItem(SESSION_KEY);
      if (token && SESSION_RE.test(token)) return token;
    } catch (_) { /* storage disabled: keep the token in memory */ }
    return memorySession;
  }

  function setSession(token) {
    memorySession = token;
    try {
      if (token) sessionStorage.setItem(SESSION_KEY, token);
      else sessionStorage.removeItem(SESSION_KEY);
    } catch (_) { /* memory only */ }
  }

  function session() {
    let token = storedSession();
    if (!token) setSession(token = newToken());
    return token;
  }

  // --- rendering ---------------------------------------------------------------------------

  const scrollDown = () => { ui.chat.scrollTop = ui.chat.scrollHeight; };

  function addMessage(role, text, extra) {
    const msg = make('div', `msg ${role}${extra ? ` ${extra}` : ''}`);
    if (text) msg.append(make('p', 'bubble', text));
    ui.messages.append(msg);
    scrollDown();
    return msg;
  }

  function addReceipt(text) {
    // "Your tip was sent…\n\nYour receipt (shown only once):\n\n1234 5678 9012 3456"
    const cut = text.lastIndexOf('\n\n');
    const msg = addMessage('bot', cut > 0 ? text.slice(0, cut) : '', 'receipt');
    const code = make('p', 'receipt-code', (cut > 0 ? text.slice(cut + 2) : text).trim());
    code.setAttribute('translate', 'no');
    msg.append(code);
    scrollDown();
    return msg;
  }

  function addChoices(msg, rows) {
    for (const old of ui.messages.querySelectorAll('.choices button')) old.disabled = true;
    const box = make('div', 'choices');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', T.choices);
    if (rows.length > 6 && rows.every((row) => row.length === 1)) box.classList.add('many');
    let number = 0;
    for (const row of rows) {
      const line = make('div', 'choice-row');
      for (const choice of row) {
        const button = make('button', 'choice');
        button.type = 'button';
        button.dataset.payload = choice.payload;
        button.append(make('span', 'num', `${++number}.`), ' ', make('span', 'label', choice.label));
        button.addEventListener('click', () => pressChoice(button, choice));
        line.append(button);
      }
      box.append(line);
    }
    msg.append(box);
    activeChoices = box;
    scrollDown();
  }

  // A typed receipt is masked once the server has read it: the screen is evidence too.
  function maskLastUserMessage() {
    const mine = ui.messages.querySelectorAll('.msg.user .bubble');
    if (mine.length) mine[mine.length - 1].textContent = '•••• •••• •••• ••••';
  }

  function clearTranscript() {
    ui.messages.replaceChildren();
    activeChoices = null;
    ui.text.value = '';
    fitText();
  }

  function renderReply(reply) {
    const text = typeof reply.text === 'string' ? reply.text : '';
    if (reply.erase_input) maskLastUserMessage();
    if (reply.kind === 'wipe') {
      clearTranscript();
      setSession(null);          // forget the old token…
      setSession(newToken());    // …and continue under a fresh one
    }
    const msg = reply.kind === 'receipt'
      ? addReceipt(text)
      : addMessage('bot', text, reply.kind === 'wipe' ? 'wiped' : '');
    const rows = Array.isArray(reply.buttons) ? reply.buttons.filter((r) => r.length) : [];
    if (rows.length) addChoices(msg, rows);
  }

  // --- talking to the server ---------------------------------------------------------------

  function setBusy(on, status) {
    busy = on;
    for (const control of [ui.text, ui.send, ui.photo, ui.location, ui.wipe]) control.disabled = on;
    if (activeChoices) {
      for (const button of activeChoices.querySelectorAll('button')) button.disabled = on;
    }
    ui.typingText.textContent = status || T.typing;
    ui.typing.hidden = !on;
    if (on) scrollDown();
  }

  async function post(url, body) {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), body instanceof FormData ? 120000 : 30000);
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: body instanceof FormData ? {} : { 'Content-Type': 'application/json' },
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        signal: timeout.signal,
      });
      const data = await response.json().catch(() => null);
      if (response.ok && data && Array.isArray(data.replies)) return { replies: data.replies };
      if (response.status < 500 && data && typeof data.detail === 'string') {
        return { error: data.detail };
      }
      return { error: T.netError };
    } catch (_) {
      return { error: T.netError };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send one thing; `echo` is the user's bubble, removed again if sending fails. */
  async function exchange(url, body, echo, status) {
    setBusy(true, status);
    const result = await post(url, body);
    setBusy(false);
    if (result.error) {
      if (echo) echo.remove();
      addMessage('system', result.error);
      return false;
    }
    result.replies.forEach(renderReply);
    return true;
  }

  function sendJson(fields, echo, status) {
    const body = JSON.stringify({ session: session(), ...fields, locale: LOCALE });
    return exchange('api/chat', body, echo, status);
  }

  // --- user actions ------------------------------------------------------------------------

  async function sendText() {
    const text = ui.text.value;
    if (busy || !text.trim()) return;
    const length = [...text.trim()].length;
    if (length > MAX_TEXT) {
      addMessage('system', T.tooLong(length));
      return;
    }
    ui.text.value = '';
    fitText();
    const sent = await sendJson({ text }, addMessage('user', text.trim()));
    if (!sent && !ui.text.value) {
      ui.text.value = text;  // nothing is lost: the text goes back into the box
      fitText();
    }
    ui.text.focus();
  }

  async function pressChoice(button, choice) {
    if (busy || button.disabled) return;
    if (await sendJson({ payload: choice.payload }, addMessage('user', choice.label))) {
      button.classList.add('chosen');
    }
  }

  function sendCommand(command) {
    if (!busy) sendJson({ text: command }, addMessage('user', command));
  }

  async function wipe() {
    if (busy) return;
    if (!(await sendJson({ text: '/xoa' }, addMessage('user', '/xoa')))) {
      // The server did not answer: still clear the screen; the next tap erases server-side.
      clearTranscript();
      addMessage('system', T.netError);
    }
  }

  function sendPhoto() {
    const file = ui.photo.files && ui.photo.files[0];
    ui.photo.value = '';  // the same photo can be chosen again
    if (!file || busy) return;
    if (file.type && !file.type.startsWith('image/')) return void addMessage('system', T.notImage);
    if (file.size > MAX_PHOTO) return void addMessage('system', T.photoTooBig);
    const echo = addMessage('user', T.photo, 'photo');
    const thumb = make('img', 'thumb');
    thumb.alt = T.photo;
    thumb.src = URL.createObjectURL(file);
    thumb.addEventListener('load', () => URL.revokeObjectURL(thumb.src), { once: true });
    echo.prepend(thumb);
    const form = new FormData();
    form.append('session', session());
    form.append('file', file, 'photo');  // never send the original file name
    if (LOCALE) form.append('locale', LOCALE);
    exchange('api/chat/photo', form, echo, T.sendingPhoto);
  }

  function shareLocation() {
    if (busy) return;
    if (!navigator.geolocation) return void addMessage('system', T.noLocation);
    setBusy(true, T.locating);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setBusy(false);
        const { latitude, longitude } = position.coords;
        sendJson({ location: { latitude, longitude } }, addMessage('user', T.locationSent));
      },
      () => {
        setBusy(false);
        addMessage('system', T.noLocation);
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
    );
  }

  function fitText() {  // CSS field-sizing does this where supported; rows is the fallback
    ui.text.rows = Math.min(6, ui.text.value.split('\n').length);
  }

  // --- start -------------------------------------------------------------------------------

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    sendText();
  });
  ui.text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendText();
    }
  });
  ui.text.addEventListener('input', fitText);
  ui.photo.addEventListener('change', sendPhoto);
  ui.location.addEventListener('click', shareLocation);
  ui.wipe.addEventListener('click', wipe);
  window.addEventListener('pageshow', (event) => {
    // Restored from the back/forward cache: do not show a receipt a second time.
    if (!event.persisted) return;
    for (const code of ui.messages.querySelectorAll('.receipt-code')) {
      code.textContent = T.receiptHidden;
    }
  });

  if (storedSession()) {
    // Reload: the server remembers the step; the old transcript is gone on purpose.
    const note = addMessage('system', T.continues);
    const again = make('button', 'link', T.restart);
    again.type = 'button';
    again.id = 'restart';
    again.addEventListener('click', () => sendCommand('/start'));
    note.append(again);
  } else {
    session();
    sendJson({ text: '/start' }, null);
  }
})();
