%% Crash-and-restart cycle, Erlang version. N times: an asynchronous message
%% makes the worker crash, it is restarted with a fresh state, and then one
%% synchronous call is answered by the restarted worker; that call returns
%% the fresh counter plus one, i.e. 1, so the result is N (100000 for
%% N = 100,000). Two variants:
%%   sup   (the default) the worker is a gen_server (this module) under a
%%         real OTP supervisor (actor_crash_sup: one_for_one, a permanent
%%         child, intensity raised so that it never gives up). The crash is
%%         gen_server:cast(Pid, crash), whose handler raises error(boom); the
%%         supervisor restarts the worker, whose init/1 tells main its new
%%         pid; main then makes one gen_server:call. OTP logs each crash
%%         (the gen_server's error report, a crash report and a supervisor
%%         report) on stderr (its default handler, moved from stdout to
%%         stderr), as the Quartz runtime prints one line there.
%%   link  as shared/anchors.md's "spawn_link + trap_exit": a plain process
%%         linked to main, which traps exits; the crash is Pid ! crash, on
%%         which the worker calls exit(boom) (nothing is logged); main
%%         waits for the 'EXIT' message, spawn_links a new worker and makes
%%         one raw request/reply call (a message with a reference).
%%   erlc actor_crash.erl actor_crash_sup.erl &&
%%   erl -noshell -run actor_crash main [N=100000] [sup|link]
-module(actor_crash).
-behaviour(gen_server).
-export([main/0, main/1]).
-export([start_link/1, init/1, handle_call/3, handle_cast/2]).

main() -> main([]).

main(Args) ->
    {N, Mode} = case Args of
                    [] -> {100000, "sup"};
                    [A] -> {list_to_integer(A), "sup"};
                    [A, M | _] -> {list_to_integer(A), M}
                end,
    process_flag(trap_exit, true),
    Sum = try
              case Mode of
                  "sup" -> run_sup(N);
                  "link" -> run_link(N)
              end
          catch
              Class:Reason ->
                  io:format(standard_error, "actor_crash: ~p:~p~n", [Class, Reason]),
                  erlang:halt(1)
          end,
    io:format("~B~n", [Sum]),
    erlang:halt(0).

%% ---- sup: a gen_server worker under an OTP supervisor
run_sup(N) ->
    %% OTP's default log handler writes to standard_io: move it to stderr,
    %% so that stdout carries the result line only.
    ok = logger:remove_handler(default),
    ok = logger:add_handler(default, logger_std_h,
                            #{config => #{type => standard_error}}),
    {ok, Sup} = actor_crash_sup:start_link(self(), N),
    sup_loop(await_start(Sup), Sup, N, 0).

sup_loop(_Pid, _Sup, 0, Sum) -> Sum;
sup_loop(Pid, Sup, I, Sum) ->
    gen_server:cast(Pid, crash),
    New = await_start(Sup),
    sup_loop(New, Sup, I - 1, Sum + gen_server:call(New, bump)).

%% The (re)started worker's init/1 reports its pid; should the supervisor
%% give up instead, main (trapping exits) hears of it and fails.
await_start(Sup) ->
    receive
        {started, Pid} -> Pid;
        {'EXIT', Sup, Reason} -> error({supervisor_exited, Reason})
    after 10000 -> error(no_restart_within_10_s)
    end.

start_link(Main) -> gen_server:start_link(?MODULE, Main, []).

init(Main) ->
    Main ! {started, self()},
    {ok, 0}.

handle_call(bump, _From, Count) -> {reply, Count + 1, Count + 1}.

handle_cast(crash, _Count) -> error(boom).

%% ---- link: spawn_link + trap_exit, restarted by main itself
run_link(N) ->
    link_loop(spawn_link(fun() -> raw_worker(0) end), N, 0).

link_loop(_Pid, 0, Sum) -> Sum;
link_loop(Pid, I, Sum) ->
    Pid ! crash,
    receive {'EXIT', Pid, _} -> ok end,
    New = spawn_link(fun() -> raw_worker(0) end),
    Ref = make_ref(),
    New ! {bump, self(), Ref},
    receive {Ref, V} -> link_loop(New, I - 1, Sum + V) end.

raw_worker(Count) ->
    receive
        crash -> exit(boom);
        {bump, From, Ref} ->
            From ! {Ref, Count + 1},
            raw_worker(Count + 1)
    end.
