%% Thread-ring (as the benchmarks game): 503 processes in a ring; process 1
%% gets the token N, each passes token-1 to the next; the one that receives
%% 0 holds it at the end and its id (1-based) is printed: N rem 503 + 1
%% (361 for N = 10,000,000).
%%   erlc threadring.erl && erl -noshell -run threadring main [N=10000000]
-module(threadring).
-export([main/0, main/1]).

-define(RING, 503).

main() -> main([]).

main(Args) ->
    N = case Args of
            [] -> 10000000;
            [A | _] -> list_to_integer(A)
        end,
    Main = self(),
    %% The last member learns its successor (member 1) once member 1 exists.
    Last = spawn(fun() -> receive {next, Next} -> member(?RING, Next, Main) end end),
    First = lists:foldl(fun(Id, Next) -> spawn(fun() -> member(Id, Next, Main) end) end,
                        Last, lists:seq(?RING - 1, 1, -1)),
    Last ! {next, First},
    First ! N,
    receive {done, Id} -> io:format("~B~n", [Id]) end,
    erlang:halt(0).

member(Id, Next, Main) ->
    receive
        0 -> Main ! {done, Id};
        T -> Next ! T - 1, member(Id, Next, Main)
    end.
