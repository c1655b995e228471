//! bcrypt on a pool bounded to the core count, so a login storm cannot starve the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the hashing pool is saturated")]
    Busy,
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("hashing task failed")]
    Join,
}

/// A bcrypt hash string (`$2b$10$...`); a different type from a password on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A place in the queue, given back when dropped, also when the waiting request is cancelled.
struct Queued<'a> {
    counter: &'a AtomicUsize,
    position: usize,
}

impl<'a> Queued<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        let position = counter.fetch_add(1, Ordering::SeqCst);
        Self { counter, position }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
pub struct HashingPool {
    permits: Arc<Semaphore>,
    threads: usize,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    cost: u32,
    dummy_hash: Arc<String>,
}

impl HashingPool {
    /// `threads` concurrent hashes at most; beyond `threads * 64` queued requests new work is
    /// refused with `Busy` (503 + Retry-After) rather than queued for minutes.
    pub fn new(threads: usize, cost: u32) -> Result<Self, HashingError> {
        let dummy_hash = bcrypt::hash("staffgate-timing-equaliser", cost)?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(threads.max(1))),
            threads: threads.max(1),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: threads.max(1) * 64,
            cost,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let queued = Queued::enter(&self.waiting);
        if queued.position >= self.max_waiting {
            return Err(HashingError::Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        drop(queued);
        let permit = permit.map_err(|_| HashingError::Join)?;
        let out = tokio::task::spawn_blocking(move || {
            let r = job();
            drop(permit);
            r
        })
        .await
        .map_err(|_| HashingError::Join)?;
        Ok(out?)
    }

    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        let plain = password.expose().to_owned();
        let cost = self.cost;
        self.run(move || bcrypt::hash(plain, cost).map(PasswordHash))
            .await
    }

    /// Hashes a batch (initial passwords for printed sheets) on every hashing thread. Each hash
    /// takes its own turn at the pool, so sign-ins arriving meanwhile wait for one hash, not
    /// for the batch. Results are in the order of `passwords`.
    pub async fn hash_many(
        &self,
        passwords: Vec<Password>,
    ) -> Result<Vec<PasswordHash>, HashingError> {
        let total = passwords.len();
        let jobs = Arc::new(passwords);
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.threads.min(total) {
            let (jobs, next, permits, cost) =
                (jobs.clone(), next.clone(), self.permits.clone(), self.cost);
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(password) = jobs.get(i) else {
                        break;
                    };
                    let permit = permits
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| HashingError::Join)?;
                    let plain = password.expose().to_owned();
                    let hash = tokio::task::spawn_blocking(move || {
                        let r = bcrypt::hash(plain, cost);
                        drop(permit);
                        r
                    })
                    .await
                    .map_err(|_| HashingError::Join)??;
                    done.push((i, PasswordHash(hash)));
                }
                Ok::<_, HashingError>(done)
            });
        }
        let mut out: Vec<Option<PasswordHash>> = vec![None; total];
        while let Some(joined) = workers.join_next().await {
            for (i, hash) in joined.map_err(|_| HashingError::Join)?? {
                out[i] = Some(hash);
            }
        }
        out.into_iter()
            .map(|h| h.ok_or(HashingError::Join))
            .collect()
    }

    /// Verifies against `hash`, or against a dummy hash when there is none, so an unknown ID
    /// costs the same time as a wrong password.
    pub async fn verify(
        &self,
        password: &Password,
        hash: Option<&str>,
    ) -> Result<bool, HashingError> {
        let plain = password.expose().to_owned();
        let (target, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => ((*self.dummy_hash).clone(), false),
        };
        let ok = self.run(move || bcrypt::verify(plain, &target)).await?;
        Ok(ok && real)
    }
}
