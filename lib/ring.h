/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The io_uring engine's internals, shared by lib/ring*.c only.
 *
 * The engine is a driver: it submits, completes and times out operations,
 * and leaves every protocol decision to proto.c (records, alerts, KeyUpdate)
 * and handshake.c / switch.c (the handshake and the key switch), exactly as
 * the blocking calls do.  Its files:
 *   ring-pool.c       SQEs and their tags, the ring's pools of pipes and buffers
 *   ring-op.c         an operation's life: start, steps, timeouts, the one
 *                     callback, cancellation; connections attached to a ring;
 *                     the steps every operation shares (send GnuTLS's output,
 *                     send what proto.c queued, wait for the socket)
 *   ring-switch.c     the ULP and both keys as socket commands, chained with
 *                     the handshake's last flight
 *   ring-handshake.c  the handshake over memory that RECV fills and SEND drains
 *   ring-rx.c         receive: RECVMSG with kernel RX, RECV + GnuTLS without
 *   ring-tx.c         send, sendfile (splice through a pipe), close_notify
 *   ring-accept.c     multishot accept
 *   ring.c            the ring itself: new, free, run, CQE dispatch
 * A file calls only files listed above it (ring-tx.c calls ring-rx.c's
 * ring_rx_watch); ring-op.c reaches the kinds of operation through their
 * struct ring_op_ops.
 *
 * Every SQE carries user_data = KTLS_RING_USER_DATA_TAG << 56 | pointer |
 * kind: the pointer is a struct ring_op or ring_conn (8-byte aligned) or a
 * struct ring_accept, the low three bits say which SQE of it completed.
 */
#ifndef KTLS_RING_H
#define KTLS_RING_H

#include <liburing.h>

#include "private.h"

#define RING_TAG_SHIFT 56
#define RING_KIND_MASK 7u

/* What completed. */
enum ring_kind {
	RING_KIND_MAIN = 0,        /* an operation's main SQE */
	RING_KIND_TIMEOUT = 1,     /* its linked timeout */
	RING_KIND_CANCEL = 2,      /* a cancel request */
	RING_KIND_ACCEPT = 3,      /* a multishot accept */
	RING_KIND_ACCEPT_WAIT = 4, /* a pause before accepting again, after EMFILE */
	RING_KIND_TIMER = 5,       /* an operation's deadline while it waits on the readiness poll */
	RING_KIND_RXPOLL = 6,      /* a connection's readiness poll (kernel RX) */
	RING_KIND_LEAD = 7,        /* the first SQE of an operation's linked pair (ring_arm_lead) */
};

/* Pipes for kernel sendfile: reused across operations, at most this many kept. */
#define RING_PIPE_POOL_MAX 8
#define RING_PIPE_SIZE (1024 * 1024)
/* Receive buffers kept for reuse by the ring (not per connection). */
#define RING_RBUF_POOL_MAX 16
/* The handshake's input buffer: messages are mostly small, many may run at once. */
#define RING_HANDSHAKE_IN_SIZE 4096

enum ring_op_type {
	RING_OP_NONE = 0,
	RING_OP_HANDSHAKE,
	RING_OP_SEND,
	RING_OP_SENDFILE,
	RING_OP_SHUTDOWN,
	RING_OP_RECV,
};

/* What the op's main SQE in flight is. */
enum ring_stage {
	ST_NOP,        /* deferred work or a deferred result */
	ST_POLL,       /* waiting for POLLIN / POLLOUT */
	ST_WAIT,       /* waiting for the connection's readiness poll (no SQE of its own) */
	ST_RECV,       /* RECV into mem.in */
	ST_SEND,       /* SEND of mem.out (GnuTLS records) */
	ST_CONTROL,    /* SENDMSG of a control record proto.c queued */
	ST_SEND_USER,  /* SEND of the caller's buffer (kernel TX) */
	ST_SEND_PAIR,  /* SEND of it with MSG_MORE (the lead) linked to closing the record */
	ST_RECVMSG,    /* RECVMSG with kernel RX */
	ST_SPLICE_PAIR, /* file -> pipe (the lead) linked to pipe -> socket */
	ST_SPLICE_OUT, /* pipe -> socket, after a pair's lead fell short */
	ST_READ,       /* file -> plaintext buffer (no pipe, or userspace sendfile) */
	ST_SEND_PLAIN, /* plaintext buffer -> kernel TLS socket (no pipe) */
	ST_SWITCH,     /* the TX key's socket command, closing ring-switch.c's chain */
};

struct ring_conn;
struct ring_op;

/* What each kind of operation does; ring-op.c calls these, and only these. */
struct ring_op_ops {
	const char *name;
	/* Take the next step (submit an SQE, or finish). */
	void (*advance)(struct ring_op *op);
	/* The op's main SQE completed with @res in a stage of its own (not a shared one). */
	void (*complete)(struct ring_op *op, int res, unsigned int flags);
	/* Optional: the op ends with @result, before its callback. */
	void (*done)(struct ring_op *op, ssize_t result);
	/*
	 * For an op that submits linked pairs: the lead completed with @res.
	 * Its main SQE's completion follows; when the lead fell short of what
	 * it asked, the kernel broke the link and that completion is
	 * -ECANCELED, handed to complete() (the main SQE never ran).
	 */
	void (*lead)(struct ring_op *op, int res);
};

struct ring_op {
	struct ring_conn *rc;
	const struct ring_op_ops *ops;
	enum ring_op_type type;
	enum ring_stage stage;
	bool active;    /* started, callback not yet called */
	bool in_flight; /* the main SQE has not completed */
	bool starting;  /* inside the call that started it: results are deferred */
	bool cancelled;
	bool internal;  /* started by the engine itself (a receive during a send): no callback */
	bool hs_done;   /* handshake: GnuTLS finished */
	bool failed;    /* handshake: failed, GnuTLS's alert still to send */
	ssize_t result; /* ST_NOP with a deferred result */
	bool has_result;
	bool lead_in_flight; /* the lead of a linked pair has not completed */
	bool lead_short;     /* ... it completed short of its length: the link broke */
	/*
	 * A quiet lead (ring_submit_send_recv, and ring-switch.c's chain, whose
	 * quiet links all count as its lead) posts a CQE only when it fails or
	 * falls short, and then its chain posts none: the SQEs counted in
	 * rc->sqes for the lead (linked timeouts that skip their completion
	 * are not counted: ring_link_timeout), and for the rest of the chain.
	 */
	bool lead_quiet;
	int quiet_lead_sqes, quiet_rest_sqes;
	size_t quiet_len; /* what the quiet lead sends, all of it when it posts nothing */
	ktls_ring_cb cb;
	void *userdata;
	unsigned int timeout_ms;
	/* CLOCK_MONOTONIC, fixed when a timeout is first armed; 0: not yet (ring_arm) */
	uint64_t deadline_ns;
	/* send/sendfile: the timeout counts from the last progress (relative, no deadline) */
	bool progress_resets;
	struct __kernel_timespec ts;
	struct __kernel_timespec lead_ts; /* the timeout linked to a pair's lead */
	int zc_notifs;        /* zero-copy notifications still to come */
	/* the deadline while waiting on the readiness poll (no linked timeout there) */
	struct ring_timer *timer;
	bool timer_fired;
	struct ring_op *next_ready; /* on the ring's ready list (ring_submit_nop) */

	/* send */
	const unsigned char *buf;
	size_t len, done;
	struct iovec *iov;     /* the caller's buffers: iov_one, or a copy of several */
	struct iovec iov_one;
	int iovcnt, iov_at;    /* kernel TX: the next buffer SENDMSG starts at */
	struct msghdr umsg;
	struct txbuf_cursor cur; /* TX in GnuTLS: how far records were gathered */
	bool send_more;        /* KTLS_SEND_MORE */
	bool flush_held;       /* a send without it ends what an earlier one left open */
	bool record_closed;    /* ... by an empty control message, which pushes nothing */
	bool close_after;      /* KTLS_SEND_CLOSE */
	bool closing;          /* ... close_notify is queued (proto_shutdown): only it is left */
	/* sendfile */
	int file_fd;
	off_t offset;
	int pipe[2];
	size_t pipe_cap;      /* what the pipe holds: the most one splice pair moves */
	size_t in_pipe;       /* bytes read (into the pipe, or plain) but not sent */
	size_t asked;         /* bytes the last file read asked for */
	int lead_err;         /* a pair's file read failed (or hit the end: -ENODATA) */
	bool short_read;      /* ... and it returned fewer: the file may end there */
	unsigned char *plain; /* file bytes read to userspace: before GnuTLS, or without a pipe */
	size_t plain_off;
	/* recv */
	size_t max;
	unsigned char *rbuf;
	/* a typed record in (RECVMSG) or a control record out (SENDMSG, from @ctl) */
	struct kernel_msg kmsg;
	unsigned char ctl[8];
};

/*
 * A standalone timeout: its own allocation, so that a completion that comes
 * after its operation moved on can never be taken for the next one's.
 */
struct ring_timer {
	struct ring_conn *rc;
	struct ring_op *op; /* NULL once the op stopped waiting for it */
	struct __kernel_timespec ts;
	struct ring_timer *prev, *next; /* the ring's timers, freed with it */
};

/*
 * The keys ring-switch.c's chain hands the kernel: the kernel reads them
 * when each command runs, so they live until the chain's completion.
 */
struct ring_switch_keys {
	union keys_crypto_info rx, tx;
	socklen_t rx_len, tx_len;
};

/* An engine connection: the conn's part that lives as long as its SQEs. */
struct ring_conn {
	struct ktls_ring *ring; /* NULL once the ring was freed under the conn */
	struct ktls_conn *conn; /* NULL once the conn is freed (settling) */
	struct transport_mem mem;
	struct ring_op tx, rx;
	int sqes; /* SQEs whose CQE has not come */
	/*
	 * Kernel RX: a multishot POLLIN, edge-triggered, armed while a receive
	 * waits.  A kTLS socket wakes its waiters only when a whole record is
	 * ready (or at an error or the end), where a plain poll would report
	 * the first bytes of a record again and again.
	 */
	bool rxpoll_armed;
	/*
	 * Its cancel is on its way (a send that closes, or the conn freed): no
	 * second one; a receive that waits meanwhile gets a new poll once the
	 * old one's last CQE is in (@rxpoll_rearm).
	 */
	bool rxpoll_cancelling, rxpoll_rearm;
	bool rx_maybe_ready; /* a record may be there: try RECVMSG before waiting */
	struct ring_switch_keys *switch_keys; /* while ring-switch.c's chain runs */
	struct ring_conn *next_orphan;
	struct ring_conn *prev_attached, *next_attached; /* while its conn lives */
	/*
	 * ring_conn_exact_records(): the handshake reads each record's header,
	 * then its body, and never a byte beyond: the socket goes to another
	 * owner after it.  The walk over what came in (GnuTLS may pull part of
	 * a record, so mem.in alone does not show where records start):
	 */
	bool exact;
	size_t exact_seen;    /* bytes of mem.in already walked */
	size_t exact_body;    /* bytes of the current record's body still to come */
	unsigned char exact_hdr[RECORD_HEADER];
	size_t exact_hdr_len; /* bytes of the next record's header walked so far */
};

struct ring_accept {
	struct ktls_ring *ring;
	int fd;
	ktls_accept_cb cb;
	void *userdata;
	bool tcp; /* a TCP listener: what it accepts is handed over as such */
	bool stopping;
	bool waiting;
	struct __kernel_timespec pause;
	struct ring_accept *next;
};

struct ktls_ring {
	struct io_uring *uring;
	struct io_uring own;
	bool owned;
	bool disabled; /* created IORING_SETUP_R_DISABLED: the first thread to submit enables it */
	struct ring_accept *accepts;
	struct ring_conn *orphans;  /* conns freed while their SQEs were in flight */
	struct ring_conn *attached; /* conns not yet freed */
	struct ring_timer *timers;
	int pipes[RING_PIPE_POOL_MAX][2];
	int n_pipes;
	unsigned int pipes_out;     /* pipes held by sendfile operations: splices may run */
	/* ktls_ring_run(): nesting depth, and SIGPIPE blocked while splices may run */
	unsigned int run_depth;
	/* per SQ slot: a detached linked timeout's value, which the kernel reads at submission */
	struct __kernel_timespec *slot_ts;
	bool sigpipe_blocked;
	/* SIGPIPE's disposition, read the first time a splice could raise it: 0
	 * not known yet, 1 ignored (nothing to block, ever), -1 not ignored. */
	int sigpipe_ignored;
	uint64_t turn_ns; /* the clock in this ktls_ring_run() turn, read at its first use; 0: not yet */
	bool no_socket_commands; /* a switch chain was refused: socket options by system call */
	/* the application's own completions (ktls_ring_set_cqe_callback) */
	ktls_ring_cqe_cb app_cqe_cb;
	void *app_cqe_userdata;
	/* ops whose next step waits for no kernel: ktls_ring_run() takes them before it returns */
#define RING_READY_PASSES 64
	struct ring_op *ready, *ready_tail;
	struct kernel_sigpipe sigpipe;
	unsigned char *rbufs[RING_RBUF_POOL_MAX];
	int n_rbufs;
	unsigned char deliver[RECORD_MAX_PLAINTEXT]; /* plaintext handed to a recv callback */
};

/* ---- ring-pool.c -------------------------------------------------------- */

/*
 * The clock for deadlines: inside ktls_ring_run() the time its wait ended,
 * read once per turn rather than once per deadline armed (a system call
 * each where there is no vDSO, as in user-mode Linux).  A turn's callbacks
 * run in well under a millisecond, the unit of every timeout.  Outside a
 * run the clock itself.
 */
uint64_t ring_clock_ns(struct ktls_ring *ring);
/*
 * Whether the kernel skips completions (IOSQE_CQE_SKIP_SUCCESS, 5.17) and
 * counts a short MSG_WAITALL send as a failure that breaks its link (5.18).
 */
bool ring_skips_cqes(const struct ktls_ring *ring);
uint64_t ring_tag(void *ptr, enum ring_kind kind);
/* io_uring_submit(), enabling a ring libktls created disabled (ktls_ring_new) first. */
void ring_submit(struct ktls_ring *ring);
/*
 * SQEs of one linked chain (ring_arm and its timeout, ring_arm_lead and
 * what follows it) are taken one after the other, with no call into
 * GnuTLS or the application in between: an SQE the application takes for
 * itself (ktls_ring_set_cqe_callback) from a callback or from GnuTLS's
 * clock can never land inside a chain and break it.
 */
/* An SQE, submitting what is queued first when the queue is full. */
struct io_uring_sqe *ring_sqe(struct ktls_ring *ring);
/* The first of two adjacent SQEs (an operation and its linked timeout). */
struct io_uring_sqe *ring_sqe2(struct ktls_ring *ring);
/* The first of @n adjacent SQEs (a linked pair and the timeouts of both). */
struct io_uring_sqe *ring_sqe_n(struct ktls_ring *ring, unsigned int n);
unsigned char *ring_rbuf_get(struct ktls_ring *ring);
/* Wipes the first @used bytes. */
void ring_rbuf_put(struct ktls_ring *ring, unsigned char *buf, size_t used);
/* A pipe, and in @ret_cap how much it holds (RING_PIPE_SIZE where the kernel allowed). */
int ring_pipe_get(struct ktls_ring *ring, int ret_pipe[2], size_t *ret_cap);
/*
 * Only an empty pipe of RING_PIPE_SIZE is kept for reuse: one still holding
 * bytes (an operation that failed half-way), or a smaller one, is closed.
 */
void ring_pipe_put(struct ktls_ring *ring, int p[2], bool reuse);
/*
 * Inside ktls_ring_run(), once a sendfile holds a pipe: SIGPIPE blocked
 * until the run ends (ring.c says why).  A run with no splice possible
 * costs no signal-mask system calls.
 */
void ring_sigpipe_guard(struct ktls_ring *ring);
void ring_pools_free(struct ktls_ring *ring);

/* ---- ring-op.c ---------------------------------------------------------- */

/* Common checks and set-up of an operation; then set its fields and kick it. */
int ring_op_start(struct ktls_conn *conn, struct ring_op **ret_op, bool rx, enum ring_op_type type,
		  const struct ring_op_ops *ops, unsigned int timeout_ms, ktls_ring_cb cb,
		  void *userdata);
/* Run the first step; any result it reaches is delivered later, never here. */
void ring_op_kick(struct ring_op *op);
/* Queue @sqe as @op's main SQE, with a linked timeout when @timed and @op has a deadline. */
void ring_arm(struct ring_op *op, struct io_uring_sqe *sqe, bool timed);
/*
 * Queue @sqe as the lead of a linked pair, with a linked timeout of its own
 * when @timed: the main SQE (ring_arm, on the next SQE) runs after it
 * without a turn of the ring in between.  ring_sqe_n() makes room for all
 * of them.  Only for an op whose ops have lead(), or a @quiet lead: one
 * that posts no CQE when it succeeds, nor does its timeout (see struct
 * ring_op).
 */
void ring_arm_lead(struct ring_op *op, struct io_uring_sqe *sqe, bool timed, bool quiet);
/* End @op with @result; the callback may free the conn: touch nothing after. */
void ring_finish(struct ring_op *op, ssize_t result, const void *data, size_t len);
/* End @op with @err, recording a sentence about @what on the conn. */
void ring_fail(struct ring_op *op, int err, const char *what);
/* A step's result: a failure to submit ends @op. */
void ring_check(struct ring_op *op, int ret);
/*
 * A failed socket step: EAGAIN waits for @events and tries again, anything
 * else ends @op.  Returns false for a result >= 0, which the caller handles.
 */
bool ring_retry_or_fail(struct ring_op *op, int res, unsigned int events);
int ring_submit_poll(struct ring_op *op, unsigned int events);
/* Cancel the readiness poll of @rc, when one is armed and no cancel is on its way. */
void ring_rxpoll_cancel(struct ring_conn *rc);
/*
 * Requests that nobody waits for (a connection's last close_notify, its
 * close): they post a CQE only when they fail, tagged with no owner, and
 * need the ring to submit them from a ktls_ring_run() of a ring libktls
 * owns, where the next run does (ktls_conn_free() settles them first where
 * it closes the socket itself: ring_fd_settle()).  Whether @ring can take
 * them now.
 */
bool ring_detached_ok(const struct ktls_ring *ring);
/* @sqe as a detached request: no CQE on success, none of it refers to a conn. */
void ring_detach_sqe(struct io_uring_sqe *sqe);
/*
 * Storage for the value of a linked timeout at @sqe that outlives its
 * owner until the kernel reads it at submission: one per SQ slot, after
 * ring_slot_ts_ready() (false: out of memory).
 */
bool ring_slot_ts_ready(struct ktls_ring *ring);
struct __kernel_timespec *ring_slot_ts(struct ktls_ring *ring, const struct io_uring_sqe *sqe);

/*
 * A step for later that waits for nothing (a result at hand, deferred out
 * of the call that started @op): inside ktls_ring_run() it goes on the
 * ring's ready list, which that run takes before it returns; elsewhere it
 * is an IORING_OP_NOP, whose completion brings it back.
 */
int ring_submit_nop(struct ring_op *op);
/* RECV into mem.in (@want bytes, 0: as many as fit). */
int ring_submit_recv(struct ring_op *op, size_t want);
/*
 * SEND of mem.out, then RECV into mem.in as ring_submit_recv(), in one turn
 * of the ring: the send is a quiet lead (see struct ring_op).  -ENOTSUP
 * where the ring cannot skip a completion; the caller sends first then.
 */
int ring_submit_send_recv(struct ring_op *op, size_t want);
/* SEND of what GnuTLS wrote into mem.out. */
int ring_submit_send_mem(struct ring_op *op);
/*
 * Send what proto.c queued (alerts, KeyUpdate, close_notify), one record at
 * a time, then call @op's advance again.  Returns 1 when something was
 * submitted, 0 when the queue is empty, or a negative errno.
 */
int ring_submit_control(struct ring_op *op);
/*
 * Wait for the connection's readiness poll (kernel RX), with @op's deadline.
 * 0, or a negative errno.
 */
int ring_wait_ready(struct ring_op *op);
/* The op stopped waiting for readiness: drop its deadline timer. */
void ring_stop_timer(struct ring_op *op);
/* An idle connection keeps no buffers: free mem's empty ones. */
void ring_mem_trim(struct transport_mem *mem);
/* A completion of @op's SQE of @kind (or of its connection's poll). */
void ring_op_cqe(struct ring_op *op, enum ring_kind kind, const struct io_uring_cqe *cqe);
void ring_conn_cqe(struct ring_conn *rc, const struct io_uring_cqe *cqe);
void ring_timer_cqe(struct ring_timer *t, const struct io_uring_cqe *cqe);
/* ktls_ring_free(): free what orphans left, and the timers; end attached conns' operations. */
void ring_orphans_free(struct ktls_ring *ring);
void ring_timers_free(struct ktls_ring *ring);
void ring_conns_detach(struct ktls_ring *ring);

/* Wipe and free @rc's switch keys, if any. */
void ring_switch_keys_free(struct ring_conn *rc);
/* @n bytes of mem.out went to the socket. */
void ring_out_sent(struct transport_mem *mem, size_t n);

/* ---- ring-switch.c ------------------------------------------------------ */

/*
 * At the end of a handshake whose last flight (a server's tickets, a
 * client's Finished) is still to send: settle the handshake and send that
 * flight in one chain with the ULP and both keys, where the ring can.  1:
 * submitted (its completion comes to ring_switch_broke or ring_switch_done);
 * 0: not here, send the flight as usual; negative: the handshake failed
 * (the flight still goes out first).
 */
int ring_switch_submit(struct ring_op *op);
/* The chain broke before its end with @res (the ops' lead()). */
void ring_switch_broke(struct ring_op *op, int res);
/* The chain's end, the TX key's command, completed with @res (the ops' complete()). */
void ring_switch_done(struct ring_op *op, int res);

/* ---- ring-rx.c ---------------------------------------------------------- */

/*
 * Kernel RX while a send runs: read on, so that control records (an honest
 * peer's KeyUpdates) are acted on as they come; data is kept for the
 * application's next receive.  ring-tx.c calls it when a send starts.
 */
void ring_rx_watch(struct ring_conn *rc);

/* ---- ring-accept.c ------------------------------------------------------ */

void ring_accept_cqe(struct ring_accept *acc, const struct io_uring_cqe *cqe, enum ring_kind kind);
void ring_accepts_free(struct ktls_ring *ring);

#endif /* KTLS_RING_H */
