// No console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    comptoir_app::run(comptoir_app::Options::from_args(std::env::args()));
}
