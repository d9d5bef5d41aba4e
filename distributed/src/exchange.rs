//! All-to-all exchange between timely workers, in rounds.
//!
//! Each stage is a sequence of bulk-synchronous rounds: every worker hands one batch per peer to
//! a timely `Exchange` channel, advances the channel's epoch, and steps the worker until the
//! epoch's probe says every batch has arrived. Batches are then put in sender order, so whatever
//! a worker folds from them (float sums above all) comes out the same on every run.

use std::cell::RefCell;
use std::rc::Rc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;
use timely::ExchangeData;

/// What an item costs on the wire beyond its inline size: the heap bytes it carries.
pub trait Wire {
    /// Items per message: bounds the serialised size of one message whatever a batch holds.
    const MESSAGE_ITEMS: usize = 1 << 16;

    fn heap_bytes(&self) -> usize {
        0
    }
}

impl Wire for u64 {}
impl Wire for i64 {}
impl Wire for f64 {}
impl Wire for (u32, f64) {}
impl Wire for (u32, u64) {}
impl Wire for (u32, u64, u64) {}

impl Wire for String {
    fn heap_bytes(&self) -> usize {
        self.len()
    }
}

impl Wire for (u32, Vec<f64>) {
    fn heap_bytes(&self) -> usize {
        8 * self.1.len()
    }
}

thread_local! {
    /// Bytes this worker has sent to other workers, over every channel.
    static SENT_BYTES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Bytes this worker has sent to other workers so far (inline sizes plus carried heap bytes: an
/// estimate of the serialised volume).
pub fn sent_bytes() -> u64 {
    SENT_BYTES.with(std::cell::Cell::get)
}

/// One message: (target worker, sending worker, round, sequence within the batch, items). The
/// round is needed because a faster peer's next round can arrive before this worker has finished
/// the current one.
type Message<T> = (u32, u32, u64, u32, Vec<T>);

/// One empty batch per worker: what a round's outgoing starts as.
pub fn per_worker<T>(peers: usize) -> Vec<Vec<T>> {
    (0..peers).map(|_| Vec::new()).collect()
}

/// The rounds every worker takes to send its `items` at `per_round` a round: the largest number
/// any worker needs, since each must join every round.
pub fn rounds(worker: &mut Worker, numbers: &mut Channel<i64>, items: usize, per_round: usize) -> usize {
    numbers.all_gather(worker, items.div_ceil(per_round.max(1)) as i64).into_iter().max().unwrap_or(0) as usize
}

/// A channel that moves `T`s between all workers, one round at a time.
pub struct Channel<T: ExchangeData + Clone + Wire> {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<Message<T>>>>,
    probe: ProbeHandle<u64>,
    inbox: Rc<RefCell<Vec<Message<T>>>>,
}

impl<T: ExchangeData + Clone + Wire> Channel<T> {
    pub fn new(worker: &mut Worker) -> Self {
        let inbox: Rc<RefCell<Vec<Message<T>>>> = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&inbox);
        let mut input = InputHandle::new();
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    Exchange::new(|m: &Message<T>| u64::from(m.0)),
                    "Inbox",
                    move |_, _| {
                        move |input, _output| {
                            input.for_each(|_, data| sink.borrow_mut().append(data));
                        }
                    },
                )
                .probe()
                .0
        });
        Channel { input, probe, inbox }
    }

    /// Sends `outgoing[p]` to worker `p` (every worker calls this in the same round) and returns
    /// what each worker sent to this one, indexed by sender.
    pub fn all_to_all(&mut self, worker: &mut Worker, outgoing: Vec<Vec<T>>) -> Vec<Vec<T>> {
        let mut by_sender: Vec<Vec<T>> = per_worker(worker.peers());
        self.all_to_all_each(worker, outgoing, |from, items| {
            let slot = &mut by_sender[from];
            if slot.is_empty() {
                *slot = items;
            } else {
                slot.extend(items);
            }
        });
        by_sender
    }

    /// [`Channel::all_to_all`], handing what arrived to `receive(sender, items)` message by
    /// message, in sender order, instead of gathering it: nothing is held beyond its message.
    pub fn all_to_all_each(&mut self, worker: &mut Worker, outgoing: Vec<Vec<T>>, mut receive: impl FnMut(usize, Vec<T>)) {
        let me = worker.index();
        debug_assert_eq!(outgoing.len(), worker.peers());
        let round = *self.input.time();
        for (to, items) in outgoing.into_iter().enumerate() {
            if to != me {
                let bytes = items.len() * std::mem::size_of::<T>() + items.iter().map(Wire::heap_bytes).sum::<usize>();
                SENT_BYTES.with(|s| s.set(s.get() + bytes as u64));
            }
            if items.len() <= T::MESSAGE_ITEMS {
                if !items.is_empty() {
                    self.input.send((to as u32, me as u32, round, 0, items));
                }
                continue;
            }
            // Exact-size pieces: `split_off` would leave each piece the capacity of the rest.
            let mut rest = items.into_iter();
            for seq in 0u32.. {
                let piece: Vec<T> = rest.by_ref().take(T::MESSAGE_ITEMS).collect();
                if piece.is_empty() {
                    break;
                }
                self.input.send((to as u32, me as u32, round, seq, piece));
            }
        }
        self.input.advance_to(round + 1);
        while self.probe.less_than(self.input.time()) {
            worker.step();
        }
        let (mut messages, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *self.inbox.borrow_mut()).into_iter().partition(|m| m.2 == round);
        *self.inbox.borrow_mut() = later;
        messages.sort_unstable_by_key(|m| (m.1, m.3));
        for (_, from, _, _, items) in messages {
            receive(from as usize, items);
        }
    }

    /// Every worker's `value`, in worker order, on every worker.
    pub fn all_gather(&mut self, worker: &mut Worker, value: T) -> Vec<T> {
        let outgoing = (0..worker.peers()).map(|_| vec![value.clone()]).collect();
        self.all_to_all(worker, outgoing).into_iter().flatten().collect()
    }
}
