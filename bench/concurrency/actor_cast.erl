%% Messages/s through one actor from four senders, Erlang version: a real
%% gen_server (this module) counts gen_server:cast(Pid, bump) messages; four
%% processes each cast N of them, then make one gen_server:call of their
%% own (answered after all their casts: Erlang orders messages per sender
%% only) and report to main; main's final gen_server:call returns the
%% count, 4*N (4000000 for N = 1,000,000).
%%   erlc actor_cast.erl && erl -noshell -run actor_cast main [N=1000000]
-module(actor_cast).
-behaviour(gen_server).
-export([main/0, main/1]).
-export([init/1, handle_call/3, handle_cast/2]).

main() -> main([]).

main(Args) ->
    N = case Args of
            [] -> 1000000;
            [A | _] -> list_to_integer(A)
        end,
    {ok, Pid} = gen_server:start_link(?MODULE, [], []),
    Main = self(),
    Senders = [spawn_link(fun() -> sender(Pid, N, Main) end) || _ <- lists:seq(1, 4)],
    [receive {done, S} -> ok end || S <- Senders],
    io:format("~B~n", [gen_server:call(Pid, get, infinity)]),
    erlang:halt(0).

sender(Pid, 0, Main) ->
    _ = gen_server:call(Pid, get, infinity),
    Main ! {done, self()};
sender(Pid, I, Main) ->
    gen_server:cast(Pid, bump),
    sender(Pid, I - 1, Main).

%% gen_server callbacks; the state is the count.
init([]) -> {ok, 0}.

handle_call(get, _From, Count) -> {reply, Count, Count}.

handle_cast(bump, Count) -> {noreply, Count + 1}.
