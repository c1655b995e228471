//! The account-sheet font, loaded once per process on first print and kept.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::error::SheetError;
use super::pdf::SheetFont;

/// The sheet font, loaded on first use and kept (a failed load is retried next time, so
/// installing the font fixes printing without a restart).
pub struct FontCache {
    path: PathBuf,
    loaded: Mutex<Option<Arc<SheetFont>>>,
}

impl FontCache {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            loaded: Mutex::new(None),
        }
    }

    pub async fn get(self: &Arc<Self>) -> Result<Arc<SheetFont>, SheetError> {
        if let Some(font) = self.cached() {
            return Ok(font);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let font = Arc::new(SheetFont::load(&this.path)?);
            *this.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Some(font.clone());
            Ok(font)
        })
        .await
        .map_err(|_| SheetError::Internal("font task failed".into()))?
    }

    fn cached(&self) -> Option<Arc<SheetFont>> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
