//! The smallest Tauri window: one page that says when it is painted. The start-up benchmark
//! reads `BENCH_WINDOW_PAINTED <ms>` on standard output (milliseconds since the process started).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn painted() {
    let ms = STARTED.get().map(|s| s.elapsed().as_secs_f64() * 1000.0).unwrap_or(0.0);
    println!("BENCH_WINDOW_PAINTED {ms:.1}");
}

fn main() {
    STARTED.get_or_init(Instant::now);
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .run(tauri::generate_context!())
        .expect("the minimal window runs");
}
