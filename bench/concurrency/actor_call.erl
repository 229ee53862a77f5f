%% Actor request/reply round trip, Erlang version: a real gen_server (this
%% module) answers gen_server:call(Pid, {inc, X}) with X+1; main makes N
%% calls for X = 0 .. N-1 and sums the answers: N*(N+1)/2 (500000500000 for
%% N = 1,000,000).
%%   erlc actor_call.erl && erl -noshell -run actor_call main [N=1000000]
-module(actor_call).
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
    io:format("~B~n", [loop(Pid, 0, N, 0)]),
    erlang:halt(0).

loop(_Pid, N, N, Sum) -> Sum;
loop(Pid, I, N, Sum) ->
    loop(Pid, I + 1, N, Sum + gen_server:call(Pid, {inc, I})).

%% gen_server callbacks; the state counts the calls.
init([]) -> {ok, 0}.

handle_call({inc, X}, _From, Calls) -> {reply, X + 1, Calls + 1}.

handle_cast(_Msg, Calls) -> {noreply, Calls}.
