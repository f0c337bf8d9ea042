// No console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Started again to read one workbook (`workbook_child`): does that and exits.
    comptoir_core::data::workbook_child::serve_if_asked();
    comptoir_app::run(comptoir_app::Options::from_args(std::env::args()));
}
