// Say when the page is painted (two animation frames after load), like Comptoir's dashboard.
requestAnimationFrame(() => requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('painted')));
